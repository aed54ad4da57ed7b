// SmoothQuant's and w8a8's calibration: the text in chunks (as the imatrix collection cuts it),
// and for every matrix product (the layers' and the output head's) the largest |x| of each input
// column over all tokens. Every product is taken, however few rows (unlike llama-imatrix's 16-row
// rule): a maximum needs no minimum count.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

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
  // Every stride-th input row of a matrix is kept, so the samples spread over the whole text.
  const int64_t stride =
      options.sample_rows > 0
          ? std::max<int64_t>(1, plan.n_chunks * plan.n_ctx / options.sample_rows)
          : 0;
  std::map<std::string, int64_t> rows_seen;
  auto keep_samples = [&](const MatmulInput& in) {
    int64_t& seen = rows_seen[std::string(in.weight)];
    std::vector<float>& kept = ranges.samples[std::string(in.weight)];
    for (int64_t r = 0; r < in.n_rows; ++r, ++seen) {
      if (seen % stride != 0 ||
          static_cast<int64_t>(kept.size()) >= options.sample_rows * in.n_cols)
        continue;
      kept.insert(kept.end(), in.rows + r * in.stride, in.rows + r * in.stride + in.n_cols);
    }
  };
  engine::ColumnPass pass;
  pass.what = "smoothquant calibration";
  pass.n_threads = options.n_threads;
  const std::set<std::string, std::less<>> sample_of(options.sample_of.begin(),
                                                     options.sample_of.end());
  pass.take = [&](const MatmulInput& in) {
    if (stride > 0 && (sample_of.empty() || sample_of.contains(in.weight))) keep_samples(in);
    return true;
  };
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
