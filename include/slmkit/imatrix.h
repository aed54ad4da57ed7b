// Importance matrices as llama.cpp's llama-imatrix makes them: for every weight matrix, the sum
// over the evaluated tokens of each input column's square (the activation x_j^2 that multiplies
// column j), and how many tokens were summed. `quantize --imatrix` weighs each column's rounding
// error by the mean, sums / counts, as llama-quantize does.
//
// Files: llama.cpp's current GGUF format (general.type "imatrix"; per matrix NAME.in_sum2 [ne0,
// n_mat] and NAME.counts [1, n_mat], F32; imatrix.datasets, imatrix.chunk_count,
// imatrix.chunk_size), and the legacy .dat format (per entry: name, ncall, values = mean * ncall;
// then the chunk count and dataset name), read and written. Names are the GGUF tensor names
// ("blk.0.ffn_down.weight"), which are also slmkit's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "slmkit/engine.h"

namespace slmkit {

struct ImatrixEntry {
  std::vector<float> sums;      // [n_mat * n_cols]: sum of x_j^2 over the tokens seen
  std::vector<int64_t> counts;  // [n_mat]: tokens seen (one matrix unless experts)
};

struct ImportanceMatrix {
  std::map<std::string, ImatrixEntry> entries;  // by weight name, sorted as llama.cpp stores
  std::vector<std::string> datasets;            // the texts it was computed on
  int64_t chunk_count = 0;
  int64_t chunk_size = 0;  // 0 when read from a legacy file (which does not say)
  bool legacy = false;     // read from the .dat format

  // Per-column weights for quantizing `name` as llama-quantize derives them: sums / counts
  // (1 where a matrix saw no token); for legacy files values / ncall. Empty when absent.
  std::vector<float> weights(const std::string& name) const;
};

struct ImatrixOptions {
  int64_t n_ctx = 512;    // tokens per chunk (llama-imatrix's -c)
  int64_t n_chunks = -1;  // at most this many; < 0: all that fit
  bool add_bos = true;    // first token of every chunk replaced by BOS, as llama-imatrix
  int32_t bos_id = -1;
  int n_threads = 0;
  bool process_output = false;  // also collect output.weight (llama-imatrix --process-output)
  std::string dataset;          // recorded in imatrix.datasets
  std::function<void(int64_t chunk, int64_t n_chunks, double seconds)> on_chunk;
};

// Evaluates `tokens` in chunks of n_ctx (each from an empty context) and accumulates every
// "blk.*" matrix's input squares, skipping products of fewer than 16 tokens as llama-imatrix
// does. Throws Error(invalid_input) for fewer than 2 * n_ctx tokens, as llama-imatrix refuses.
ImportanceMatrix collect_imatrix(const Engine& engine, std::span<const int32_t> tokens,
                                 const ImatrixOptions& options);

// GGUF or legacy .dat, told apart by the GGUF magic. Throws Error naming the file, the entry and
// what was wrong (mismatched sums and counts, non-F32 data, truncated records).
ImportanceMatrix read_imatrix(const std::filesystem::path& path);
// llama.cpp's GGUF format; written under a temporary name and renamed.
void write_imatrix(const ImportanceMatrix& imatrix, const std::filesystem::path& path);
// The legacy .dat format, as llama-imatrix --output-format dat writes it.
void write_imatrix_legacy(const ImportanceMatrix& imatrix, const std::filesystem::path& path);

}  // namespace slmkit
