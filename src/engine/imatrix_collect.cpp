// llama-imatrix's collection (tools/imatrix/imatrix.cpp, compute_imatrix + collect_imatrix):
// the text in chunks of n_ctx tokens, each from an empty context with BOS first, and for every
// matrix product of at least 16 tokens over a "blk." weight the squares of its f32 input
// accumulated per column, in float, row after row, as llama.cpp adds them.
#include <algorithm>
#include <chrono>

#include "core/fail.h"
#include "slmkit/imatrix.h"

namespace slmkit {

ImportanceMatrix collect_imatrix(const Engine& engine, std::span<const int32_t> tokens,
                                 const ImatrixOptions& options) {
  const int64_t n_ctx = options.n_ctx;
  if (n_ctx < 16) fail_invalid("imatrix: context of {} tokens, need at least 16", n_ctx);
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * n_ctx) {
    fail_invalid("imatrix: need at least {} tokens for a context of {}; the text has {}", 2 * n_ctx,
                 n_ctx, n_tokens);
  }
  if (options.add_bos && options.bos_id < 0) {
    fail_invalid("imatrix: add_bos is set but the model has no BOS token");
  }
  const int64_t n_chunk_max = n_tokens / n_ctx;
  const int64_t n_chunk =
      options.n_chunks < 0 ? n_chunk_max : std::min(options.n_chunks, n_chunk_max);

  ImportanceMatrix im;
  im.chunk_size = n_ctx;
  if (!options.dataset.empty()) im.datasets.push_back(options.dataset);

  SessionOptions so;
  so.n_ctx = n_ctx;
  so.n_batch = std::min<int64_t>(n_ctx, 512);  // llama.cpp's default ubatch
  so.n_threads = options.n_threads;
  so.all_logits = options.process_output;  // the output head then sees every token
  so.on_matmul_input = [&](const MatmulInput& in) {
    // llama-imatrix ignores small batches (its comment asks why; we keep the rule for parity).
    if (in.n_rows < 16) return;
    const bool blk = in.weight.starts_with("blk.");
    if (!blk && !(options.process_output && in.weight == "output.weight")) return;
    auto [it, added] = im.entries.try_emplace(std::string(in.weight));
    ImatrixEntry& e = it->second;
    if (added) {
      e.sums.assign(static_cast<size_t>(in.n_cols), 0.0f);
      e.counts.assign(1, 0);
    } else if (e.sums.size() != static_cast<size_t>(in.n_cols)) {
      fail(ErrorKind::internal, "imatrix: '{}' seen with {} and {} columns", in.weight,
           e.sums.size(), in.n_cols);
    }
    float* acc = e.sums.data();
    for (int64_t r = 0; r < in.n_rows; ++r) {
      const float* x = in.rows + r * in.stride;
      for (int64_t j = 0; j < in.n_cols; ++j) acc[j] += x[j] * x[j];
    }
    e.counts[0] += in.n_rows;
  };
  Session session(engine, so);

  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n_chunk; ++i) {
    std::copy(tokens.begin() + i * n_ctx, tokens.begin() + (i + 1) * n_ctx, chunk.begin());
    if (options.add_bos) chunk[0] = options.bos_id;
    session.clear();
    session.eval(chunk, options.process_output);
    im.chunk_count = i + 1;
    if (options.on_chunk) {
      options.on_chunk(
          i + 1, n_chunk,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  return im;
}

}  // namespace slmkit
