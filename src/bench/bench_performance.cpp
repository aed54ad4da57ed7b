#include <algorithm>
#include <cmath>

#include "slmkit/bench.h"

namespace slmkit {

nlohmann::ordered_json bench_performance_json(const std::vector<BenchRow>& rows) {
  nlohmann::ordered_json p = nlohmann::ordered_json::object();
  uint64_t peak_rss = 0;
  nlohmann::ordered_json with = nlohmann::ordered_json::object();
  for (const BenchRow& row : rows) {
    peak_rss = std::max(peak_rss, row.peak_rss_bytes);
    with["backend"] = bench_backend_name(row.backend);
    with["threads"] = row.n_threads;
    with["repetitions"] = row.samples_ns.size();
    if (row.n_prompt > 0 && row.n_gen == 0) {
      p["prefill_tokens_per_sec"] = row.avg_ts;
      with["n_prompt"] = row.n_prompt;
    }
    if (row.n_gen > 0 && row.n_prompt == 0 && !row.samples_ns.empty()) {
      p["tokens_per_sec"] = row.avg_ts;
      with["n_gen"] = row.n_gen;
      // Per decoded token, one value per repetition; the sample standard deviation over them.
      std::vector<double> ms;
      for (double ns : row.samples_ns) ms.push_back(ns / 1e6 / static_cast<double>(row.n_gen));
      double mean = 0;
      for (double v : ms) mean += v;
      mean /= static_cast<double>(ms.size());
      double var = 0;
      for (double v : ms) var += (v - mean) * (v - mean);
      p["latency_ms_per_token_mean"] = mean;
      p["latency_ms_per_token_std"] =
          ms.size() > 1 ? std::sqrt(var / static_cast<double>(ms.size() - 1)) : 0.0;
    }
  }
  if (peak_rss > 0) p["peak_rss_bytes"] = peak_rss;
  if (!with.empty()) p["measured_with"] = std::move(with);
  return p;
}

}  // namespace slmkit
