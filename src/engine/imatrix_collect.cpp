// llama-imatrix's collection (tools/imatrix/imatrix.cpp, compute_imatrix + collect_imatrix):
// the text in chunks of n_ctx tokens, each from an empty context with BOS first, and for every
// matrix product of at least 16 tokens over a "blk." weight the squares of its f32 input
// accumulated per column, in float, row after row, as llama.cpp adds them.
#include "core/stopwatch.h"
#include "engine/column_stats.h"
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

  const Stopwatch clock;
  engine::ColumnPass pass;
  pass.what = "imatrix";
  pass.n_threads = options.n_threads;
  pass.all_logits = options.process_output;  // the output head then sees every token
  pass.take = [&](const MatmulInput& in) {
    // llama-imatrix ignores small batches (its comment asks why; we keep the rule for parity).
    if (in.n_rows < 16) return false;
    return in.weight.starts_with("blk.") ||
           (options.process_output && in.weight == "output.weight");
  };
  pass.on_chunk = [&](int64_t c, std::span<const int32_t>) {
    im.chunk_count = c + 1;
    if (options.on_chunk) options.on_chunk(c + 1, plan.n_chunks, clock.seconds());
  };
  auto stats = engine::collect_column_stats(engine, tokens, plan, pass,
                                            [](float& acc, float x) { acc += x * x; });
  for (auto& [name, s] : stats) {
    ImatrixEntry& e = im.entries[name];
    e.sums = std::move(s.values);
    e.counts.assign(1, s.n_rows);
  }
  return im;
}

}  // namespace slmkit
