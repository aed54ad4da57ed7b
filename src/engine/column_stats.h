// The calibration pass that the importance matrix and SmoothQuant's activation ranges share: a
// text in chunks (eval::ChunkPlan), each from an empty session, and for every matrix product that
// `take` accepts, one value per input column reduced over its f32 input rows, row after row, in
// float: the sum of squares for the imatrix, the largest |x| for SmoothQuant.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/fail.h"
#include "engine/engine_logits.h"
#include "eval/chunks.h"
#include "slmkit/engine.h"

namespace slmkit::engine {

struct ColumnStats {
  std::vector<float> values;  // [n_cols], reduced from 0
  int64_t n_rows = 0;         // input rows folded in
};

struct ColumnPass {
  std::string_view what;    // names the pass in errors: "imatrix"
  int n_threads = 0;        // 0: one per hardware thread
  bool all_logits = false;  // run the output head on every token (so its product sees them all)
  std::function<bool(const MatmulInput&)> take;  // which products to reduce
  // After each chunk: its index and its tokens.
  std::function<void(int64_t c, std::span<const int32_t> chunk)> on_chunk;
};

// reduce(acc, x) folds one input value into its column's accumulator (inlined per element).
template <class Reduce>
std::map<std::string, ColumnStats> collect_column_stats(const Engine& engine,
                                                        std::span<const int32_t> tokens,
                                                        const eval::ChunkPlan& plan,
                                                        const ColumnPass& pass, Reduce reduce) {
  std::map<std::string, ColumnStats> stats;
  SessionOptions so = evaluation_session(plan.n_ctx, pass.n_threads, DType::F16);
  so.all_logits = pass.all_logits;
  so.on_matmul_input = [&](const MatmulInput& in) {
    if (!pass.take(in)) return;
    auto [it, added] = stats.try_emplace(std::string(in.weight));
    std::vector<float>& acc = it->second.values;
    if (added) {
      acc.assign(static_cast<size_t>(in.n_cols), 0.0f);
    } else if (acc.size() != static_cast<size_t>(in.n_cols)) {
      fail(ErrorKind::internal, "{}: '{}' seen with {} and {} columns", pass.what, in.weight,
           acc.size(), in.n_cols);
    }
    float* a = acc.data();
    for (int64_t r = 0; r < in.n_rows; ++r) {
      const float* x = in.rows + r * in.stride;
      for (int64_t j = 0; j < in.n_cols; ++j) reduce(a[j], x[j]);
    }
    it->second.n_rows += in.n_rows;
  };
  Session session(engine, so);
  eval::for_each_chunk(tokens, plan, [&](int64_t c, std::span<const int32_t> chunk) {
    session.clear();
    session.eval(chunk, pass.all_logits);
    if (pass.on_chunk) pass.on_chunk(c, chunk);
  });
  return stats;
}

}  // namespace slmkit::engine
