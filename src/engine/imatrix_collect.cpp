// llama-imatrix's collection (tools/imatrix/imatrix.cpp, compute_imatrix + collect_imatrix):
// the text in chunks of n_ctx tokens, each from an empty context with BOS first, and for every
// matrix product of at least 16 tokens over a "blk." weight the squares of its f32 input
// accumulated per column, in float, row after row, as llama.cpp adds them.
#include "core/fail.h"
#include "core/stopwatch.h"
#include "engine/engine_logits.h"
#include "eval/chunks.h"
#include "slmkit/imatrix.h"

namespace slmkit {

ImportanceMatrix collect_imatrix(const Engine& engine, std::span<const int32_t> tokens,
                                 const ImatrixOptions& options) {
  const eval::ChunkPlan plan =
      eval::plan_chunks(static_cast<int64_t>(tokens.size()), options.n_ctx, options.n_chunks,
                        options.add_bos, options.bos_id, 16, "imatrix");

  ImportanceMatrix im;
  im.chunk_size = plan.n_ctx;
  if (!options.dataset.empty()) im.datasets.push_back(options.dataset);

  SessionOptions so = engine::evaluation_session(plan.n_ctx, options.n_threads, DType::F16);
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

  const Stopwatch clock;
  eval::for_each_chunk(tokens, plan, [&](int64_t c, std::span<const int32_t> chunk) {
    session.clear();
    session.eval(chunk, options.process_output);
    im.chunk_count = c + 1;
    if (options.on_chunk) options.on_chunk(c + 1, plan.n_chunks, clock.seconds());
  });
  return im;
}

}  // namespace slmkit
