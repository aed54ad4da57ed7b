// SmoothQuant's calibration: the text in chunks (as the imatrix collection cuts it), and for every
// "blk." matrix product the largest |x| of each input column over all tokens. Every product is
// taken, however few rows (unlike llama-imatrix's 16-row rule): a maximum needs no minimum count.
#include <algorithm>
#include <cmath>

#include "engine/column_stats.h"
#include "eval/chunks.h"
#include "slmkit/smoothquant.h"

namespace slmkit {

ActivationRanges collect_activation_ranges(const Engine& engine, std::span<const int32_t> tokens,
                                           const ActivationRangeOptions& options) {
  const eval::ChunkPlan plan =
      eval::plan_chunks(static_cast<int64_t>(tokens.size()), options.n_ctx, options.n_chunks,
                        options.add_bos, options.bos_id, 4, "smoothquant calibration");
  ActivationRanges ranges;
  engine::ColumnPass pass;
  pass.what = "smoothquant calibration";
  pass.n_threads = options.n_threads;
  pass.take = [](const MatmulInput& in) { return in.weight.starts_with("blk."); };
  pass.on_chunk = [&](int64_t c, std::span<const int32_t> chunk) {
    ranges.n_chunks = c + 1;
    ranges.n_tokens += static_cast<int64_t>(chunk.size());
  };
  auto stats = engine::collect_column_stats(
      engine, tokens, plan, pass, [](float& acc, float x) { acc = std::max(acc, std::fabs(x)); });
  for (auto& [name, s] : stats) ranges.max_abs.emplace(name, std::move(s.values));
  return ranges;
}

}  // namespace slmkit
