// SmoothQuant's calibration: the text in chunks (as the imatrix collection cuts it), and for every
// "blk." matrix product the largest |x| of each input column over all tokens. Every product is
// taken, however few rows (unlike llama-imatrix's 16-row rule): a maximum needs no minimum count.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "core/fail.h"
#include "engine/engine_logits.h"
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
  SessionOptions so = engine::evaluation_session(plan.n_ctx, options.n_threads, DType::F16);
  so.on_matmul_input = [&](const MatmulInput& in) {
    if (!in.weight.starts_with("blk.")) return;
    if (stride > 0) {
      int64_t& seen = rows_seen[std::string(in.weight)];
      std::vector<float>& kept = ranges.samples[std::string(in.weight)];
      for (int64_t r = 0; r < in.n_rows; ++r, ++seen) {
        if (seen % stride != 0 ||
            static_cast<int64_t>(kept.size()) >= options.sample_rows * in.n_cols) {
          continue;
        }
        kept.insert(kept.end(), in.rows + r * in.stride, in.rows + r * in.stride + in.n_cols);
      }
    }
    auto [it, added] = ranges.max_abs.try_emplace(std::string(in.weight));
    std::vector<float>& m = it->second;
    if (added) {
      m.assign(static_cast<size_t>(in.n_cols), 0.0f);
    } else if (m.size() != static_cast<size_t>(in.n_cols)) {
      fail(ErrorKind::internal, "smoothquant calibration: '{}' seen with {} and {} columns",
           in.weight, m.size(), in.n_cols);
    }
    for (int64_t r = 0; r < in.n_rows; ++r) {
      const float* x = in.rows + r * in.stride;
      for (int64_t j = 0; j < in.n_cols; ++j) m[j] = std::max(m[j], std::fabs(x[j]));
    }
  };
  Session session(engine, so);
  eval::for_each_chunk(tokens, plan, [&](int64_t c, std::span<const int32_t> chunk) {
    session.clear();
    session.eval(chunk, false);
    ranges.n_chunks = c + 1;
    ranges.n_tokens += static_cast<int64_t>(chunk.size());
  });
  return ranges;
}

}  // namespace slmkit
