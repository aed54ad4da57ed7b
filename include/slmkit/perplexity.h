// Perplexity as llama.cpp's llama-perplexity computes it: the text's tokens (tokenized once,
// with the model's BOS at the start when it adds one) are cut into chunks of n_ctx tokens; each
// chunk is evaluated from an empty context with its first token replaced by BOS (when add_bos),
// and only the second half is scored: the logits at positions n_ctx/2 .. n_ctx-2 predicting the
// tokens after them. PPL = exp(mean NLL); the error is PPL times the standard error of the mean
// NLL, sqrt((mean(NLL^2) - mean(NLL)^2) / (count - 1)).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "slmkit/engine.h"

namespace slmkit {

struct PerplexityProgress {
  int64_t chunk = 0;  // chunks done so far (1-based)
  int64_t n_chunks = 0;
  double ppl = 0;  // estimate over the chunks done so far
  double seconds = 0;
};

struct PerplexityOptions {
  int64_t n_ctx = 512;    // tokens per chunk
  int64_t n_chunks = -1;  // at most this many chunks; < 0: all that fit
  bool add_bos = true;    // as the vocabulary says (llama_vocab_get_add_bos)
  int32_t bos_id = -1;    // needed when add_bos
  int n_threads = 0;      // 0: hardware concurrency
  DType kv_type = DType::F16;
  std::function<void(const PerplexityProgress&)> on_chunk;
};

struct PerplexityResult {
  double ppl = 0;
  double ppl_error = 0;  // "+/-" as llama.cpp prints it
  int64_t n_chunks = 0;
  int64_t n_scored = 0;           // tokens whose probability was scored
  std::vector<double> chunk_ppl;  // running estimate after each chunk ("[1]4.53,[2]4.61,...")
  double seconds = 0;
};

// Throws Error(invalid_input) when the text has fewer than 2 * n_ctx tokens (as llama.cpp
// refuses), or n_ctx is below 4.
PerplexityResult compute_perplexity(const Engine& engine, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options);

// KL divergence against a base model, as llama-perplexity --kl-divergence-base / --kl-divergence.
//
// The base file is llama.cpp's: "_logits_", n_ctx, n_vocab, n_chunk (int32), the n_chunk * n_ctx
// evaluated tokens (int32, before BOS replacement), then for every scored position (the second
// half of each chunk, as perplexity scores) nv = 2 * ((n_vocab + 1) / 2) + 4 uint16 values: two
// floats (scale, min log-prob) and the log-probabilities quantized to 16 bits over the 16 nats
// below the most likely token. Files written here are read by llama-perplexity and vice versa.

// Logits of every position of one chunk ([chunk.size(), n_vocab], row i predicting the token
// after chunk[i]), evaluated from an empty context. Lets another runtime (llama.cpp's, for
// quantized files our engine cannot run yet) be measured by the same code.
using ChunkLogits = std::function<std::span<const float>(std::span<const int32_t> chunk)>;
ChunkLogits engine_chunk_logits(const Engine& engine, const PerplexityOptions& options);

struct KlDivergenceResult {
  int64_t n_chunks = 0;
  int64_t count = 0;  // scored positions
  double ppl = 0, ppl_error = 0;
  double ppl_base = 0, ppl_base_error = 0;
  double log_ppl_correlation = 0;                     // Cor(ln PPL(Q), ln PPL(base))
  double log_ppl_ratio = 0, log_ppl_ratio_error = 0;  // ln(PPL(Q)/PPL(base))
  double ppl_ratio = 0, ppl_ratio_error = 0;
  double ppl_diff = 0, ppl_diff_error = 0;  // PPL(Q) - PPL(base)
  double kld_mean = 0, kld_error = 0;
  double kld_max = 0, kld_median = 0, kld_min = 0;
  std::vector<std::pair<double, double>> kld_percentiles;  // (fraction, value): 0.999 ... 0.001
  double dp_mean = 0, dp_error = 0;                        // delta-p = p(Q) - p(base) of the token
  double dp_max = 0, dp_median = 0, dp_min = 0;
  std::vector<std::pair<double, double>> dp_percentiles;  // 0.999 ... 0.001
  double dp_rms = 0, dp_rms_error = 0;
  double same_top = 0, same_top_error = 0;  // fraction whose most likely token is the base's
  double seconds = 0;

  // The three statistics blocks llama-perplexity prints at the end.
  std::string to_text() const;
};

// compute_perplexity over another runtime's logits (onnx_chunk_logits below).
PerplexityResult compute_perplexity(const ChunkLogits& logits, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options);

// ONNX Runtime as the logit source: `model` is an export folder (`slmkit export onnx`, optimum's
// layout: its fp32 no-cache graph onnx/decoder_model.onnx) or one no-cache graph of such a folder
// (onnx/decoder_model_int8.onnx, ...; config.json one folder up or beside it). Every position's
// logits in one pass per chunk. Error(unsupported) when ONNX Runtime is not available,
// Error(invalid_input) naming the path when it is not such a graph or folder.
struct OnnxChunkLogits {
  ChunkLogits logits;
  int64_t n_vocab = 0;  // config.json's vocab_size
  std::filesystem::path export_dir, graph;
};
OnnxChunkLogits onnx_chunk_logits(const std::filesystem::path& model, int n_threads);
// Whether `model` names what onnx_chunk_logits takes (a .onnx file, or a folder with
// onnx/decoder_model.onnx), so a command can tell it from a GGUF or Hugging Face folder.
bool is_onnx_model(const std::filesystem::path& model);

// Evaluates `tokens` chunk by chunk as compute_perplexity does and writes every scored position's
// log-probabilities to `path` (temporary name, renamed at the end). Returns the perplexity.
PerplexityResult write_kl_base(const ChunkLogits& logits, int64_t n_vocab,
                               std::span<const int32_t> tokens, const PerplexityOptions& options,
                               const std::filesystem::path& path);
PerplexityResult write_kl_base(const Engine& engine, std::span<const int32_t> tokens,
                               const PerplexityOptions& options, const std::filesystem::path& path);

// Evaluates the tokens stored in the base file (its n_ctx; options.n_chunks may cap the chunks)
// and compares each scored position with the base. Throws Error naming the file for a bad magic,
// a truncated file, or a vocabulary size other than n_vocab.
KlDivergenceResult compute_kl_divergence(const ChunkLogits& logits, int64_t n_vocab,
                                         const std::filesystem::path& base,
                                         const PerplexityOptions& options);
KlDivergenceResult compute_kl_divergence(const Engine& engine, const std::filesystem::path& base,
                                         const PerplexityOptions& options);

}  // namespace slmkit
