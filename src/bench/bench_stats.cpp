#include "bench/bench_stats.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <string>

#include "slmkit/engine.h"

namespace slmkit::bench {

std::vector<int32_t> random_tokens(std::mt19937& rng, int64_t n, int64_t vocab, int32_t bos) {
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab));
  if (bos >= 0 && !tokens.empty()) tokens[0] = bos;
  return tokens;
}

double time_prompt_ns(Session& session, std::span<const int32_t> tokens) {
  session.clear();
  const auto start = std::chrono::steady_clock::now();
  const auto logits = session.eval(tokens);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Reading one logit keeps the pass observable; eval has already finished every thread's work.
  volatile float sink = logits.empty() ? 0.0f : logits[0];
  (void)sink;
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
}

double time_generate_ns(Session& session, std::span<const int32_t> tokens) {
  session.clear();
  float last = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < tokens.size(); ++i) last += session.eval(tokens.subspan(i, 1))[0];
  const auto elapsed = std::chrono::steady_clock::now() - start;
  volatile float sink = last;
  (void)sink;
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
}

namespace {

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sample_stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double sum = 0;
  for (double x : v) sum += (x - m) * (x - m);
  return std::sqrt(sum / static_cast<double>(v.size() - 1));
}

}  // namespace

void finish_row(BenchRow& row) {
  const int64_t n_tokens = row.n_prompt + row.n_gen;
  row.samples_ts.clear();
  for (double ns : row.samples_ns) {
    row.samples_ts.push_back(ns > 0 ? 1e9 * static_cast<double>(n_tokens) / ns : 0.0);
  }
  row.avg_ns = mean(row.samples_ns);
  row.stddev_ns = sample_stddev(row.samples_ns);
  row.avg_ts = mean(row.samples_ts);
  row.stddev_ts = sample_stddev(row.samples_ts);
  row.ms_per_token = n_tokens > 0 ? row.avg_ns * 1e-6 / static_cast<double>(n_tokens) : 0.0;
  // The first token's logits come after the whole prompt pass (pp) or after one decode step (tg).
  row.ttft_ms = row.n_prompt > 0 ? row.avg_ns * 1e-6 : row.ms_per_token;
}

uint64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "...  kB"
  }
  return 0;
}

void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (out) out << "5";
}

}  // namespace slmkit::bench
