// Benchmark rows: llama-bench's statistics, the output formats and the JSON round trip that
// carries rows from child processes to the parent.
#include <gtest/gtest.h>

#include <cmath>

#include "bench/bench_stats.h"
#include "slmkit/bench.h"
#include "slmkit/error.h"

namespace slmkit {
namespace {

BenchRow tg_row() {
  BenchRow r;
  r.backend = BenchBackend::llama_cpp;
  r.model_filename = "a,\"b\".gguf";
  r.model_type = "llama ?B Q8_0";
  r.model_size = 1000;
  r.model_n_params = 2000;
  r.n_gen = 10;
  r.n_threads = 2;
  r.samples_ns = {1e9, 2e9, 4e9};
  bench::finish_row(r);
  return r;
}

TEST(BenchRows, StatisticsAsLlamaBench) {
  const BenchRow r = tg_row();
  // 10 tokens in 1, 2 and 4 s: 10, 5 and 2.5 t/s, averaged per sample (not 30 tokens / 7 s).
  ASSERT_EQ(r.samples_ts.size(), 3u);
  EXPECT_DOUBLE_EQ(r.samples_ts[1], 5.0);
  EXPECT_DOUBLE_EQ(r.avg_ts, 17.5 / 3);
  // Sample standard deviation (n - 1) of 10, 5, 2.5.
  const double m = 17.5 / 3;
  const double var = ((10 - m) * (10 - m) + (5 - m) * (5 - m) + (2.5 - m) * (2.5 - m)) / 2;
  EXPECT_NEAR(r.stddev_ts, std::sqrt(var), 1e-12);
  EXPECT_DOUBLE_EQ(r.avg_ns, 7e9 / 3);
  EXPECT_DOUBLE_EQ(r.ms_per_token, 7e3 / 3 / 10);
  EXPECT_DOUBLE_EQ(r.ttft_ms, r.ms_per_token);  // tg: the first token is one step
  EXPECT_EQ(r.test(), "tg10");

  BenchRow pp;
  pp.n_prompt = 512;
  pp.samples_ns = {2e9};
  bench::finish_row(pp);
  EXPECT_EQ(pp.test(), "pp512");
  EXPECT_DOUBLE_EQ(pp.ttft_ms, 2000.0);  // pp: the whole prompt pass
  EXPECT_DOUBLE_EQ(pp.stddev_ts, 0.0);   // one sample
}

TEST(BenchRows, JsonRoundTripKeepsEveryField) {
  BenchRow r = tg_row();
  r.peak_rss_bytes = 123456;
  r.bytes_per_token = 789;
  const auto j = bench_rows_json({r});
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["backends"], "llama.cpp");
  EXPECT_EQ(j[0]["n_gen"], 10);
  EXPECT_EQ(j[0]["avg_ns"], 2333333333u);
  const BenchRow back = bench_row_from_json(nlohmann::json::parse(j[0].dump()));
  EXPECT_EQ(back.backend, BenchBackend::llama_cpp);
  EXPECT_EQ(back.model_filename, r.model_filename);
  EXPECT_EQ(back.samples_ns, r.samples_ns);
  EXPECT_EQ(back.samples_ts, r.samples_ts);
  EXPECT_EQ(back.peak_rss_bytes, 123456u);
  EXPECT_EQ(back.bytes_per_token, 789u);
  EXPECT_DOUBLE_EQ(back.avg_ts, r.avg_ts);
  auto broken = nlohmann::json::parse(j[0].dump());
  broken.erase("n_gen");
  try {
    bench_row_from_json(broken);
    FAIL() << "a row without n_gen was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n_gen"), std::string::npos) << e.what();
  }
}

TEST(BenchRows, CsvQuotesAndRatios) {
  const BenchRow theirs = tg_row();
  BenchRow ours = theirs;
  ours.backend = BenchBackend::slmkit;
  ours.samples_ns = {0.5e9, 0.5e9};
  bench::finish_row(ours);
  const std::string csv = format_bench_csv({ours, theirs});
  EXPECT_NE(csv.find("slmkit,\"a,\"\"b\"\".gguf\",llama ?B Q8_0,1000,2000,2,"), std::string::npos)
      << csv;
  const std::string ratios = format_bench_ratios({ours, theirs});
  // 20 t/s against 17.5 / 3 t/s.
  EXPECT_NE(ratios.find("| tg10 | llama.cpp | 20.00 | 5.83 | 3.43x |"), std::string::npos)
      << ratios;
  EXPECT_EQ(format_bench_ratios({ours}), "");
  EXPECT_EQ(bench_backend_from_name("ort"), BenchBackend::onnxruntime);
  EXPECT_THROW(bench_backend_from_name("tensorrt"), Error);
}

}  // namespace
}  // namespace slmkit
