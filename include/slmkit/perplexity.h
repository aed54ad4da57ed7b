// Perplexity as llama.cpp's llama-perplexity computes it: the text's tokens (tokenized once,
// with the model's BOS at the start when it adds one) are cut into chunks of n_ctx tokens; each
// chunk is evaluated from an empty context with its first token replaced by BOS (when add_bos),
// and only the second half is scored: the logits at positions n_ctx/2 .. n_ctx-2 predicting the
// tokens after them. PPL = exp(mean NLL); the error is PPL times the standard error of the mean
// NLL, sqrt((mean(NLL^2) - mean(NLL)^2) / (count - 1)).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
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

}  // namespace slmkit
