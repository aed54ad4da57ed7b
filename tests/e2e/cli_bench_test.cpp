// `slmkit bench` as a user runs it, on the real stories260K with tiny tests: llama-bench's JSON
// field names, one row per test, -p 0 / -n 0 skipping a test, and the other output formats.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::cli_path;
using testing::fixture;
using testing::run_command;

nlohmann::json bench_json(const std::string& args) {
  std::string out;
  const int rc =
      run_command(cli_path().string() + " bench -o json -r 2 -t 1 " + args + " 2>/dev/null", &out);
  EXPECT_EQ(rc, 0) << out;
  return nlohmann::json::parse(out);
}

TEST(CliBench, JsonRowsCarryLlamaBenchFields) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto model = fixture("models/gguf-stories260K/stories260K.gguf").string();
  const auto rows = bench_json("-m " + model + " -p 16 -n 4");
  ASSERT_EQ(rows.size(), 2u) << rows.dump(2);
  for (const auto& r : rows) {
    for (const char* key :
         {"model_filename", "model_type", "model_size", "model_n_params", "n_prompt", "n_gen",
          "n_threads", "type_k", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns",
          "samples_ts", "backend", "test", "ms_per_token", "ttft_ms", "peak_rss_bytes"}) {
      EXPECT_TRUE(r.contains(key)) << key;
    }
    EXPECT_EQ(r["backend"], "slmkit");
    EXPECT_EQ(r["model_filename"], model);
    EXPECT_EQ(r["model_n_params"], 260032);
    // 48 F32 tensors: the file's tensor data, 4 bytes per stored element.
    EXPECT_EQ(r["model_size"].get<uint64_t>() % 4, 0u);
    EXPECT_EQ(r["n_threads"], 1);
    EXPECT_EQ(r["type_k"], "f16");
    EXPECT_EQ(r["samples_ns"].size(), 2u);
    EXPECT_EQ(r["samples_ts"].size(), 2u);
    EXPECT_GT(r["avg_ts"].get<double>(), 0.0);
    EXPECT_GT(r["peak_rss_bytes"].get<uint64_t>(), r["model_size"].get<uint64_t>());
  }
  EXPECT_EQ(rows[0]["test"], "pp16");
  EXPECT_EQ(rows[0]["n_prompt"], 16);
  EXPECT_EQ(rows[0]["n_gen"], 0);
  EXPECT_EQ(rows[1]["test"], "tg4");
  EXPECT_EQ(rows[1]["n_prompt"], 0);
  EXPECT_EQ(rows[1]["n_gen"], 4);
  // tokens/s from the samples: n / ns, averaged per sample as llama-bench does.
  const auto& pp = rows[0];
  const double ts0 = 16e9 / pp["samples_ns"][0].get<double>();
  EXPECT_NEAR(pp["samples_ts"][0].get<double>(), ts0, ts0 * 1e-6);
  // A tg row's time to first token is one decode step.
  EXPECT_NEAR(rows[1]["ttft_ms"].get<double>(), rows[1]["ms_per_token"].get<double>(), 1e-9);
}

TEST(CliBench, ZeroSkipsATest) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto model = fixture("models/gguf-stories260K/stories260K.gguf").string();
  const auto tg_only = bench_json("-m " + model + " -p 0 -n 4 --in-process");
  ASSERT_EQ(tg_only.size(), 1u);
  EXPECT_EQ(tg_only[0]["test"], "tg4");
  const auto pp_only = bench_json("-m " + model + " -p 8 -n 0");
  ASSERT_EQ(pp_only.size(), 1u);
  EXPECT_EQ(pp_only[0]["test"], "pp8");
}

TEST(CliBench, MarkdownAndCsv) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto model = fixture("models/llama2c-stories260K/stories260K.bin").string();
  std::string md;
  ASSERT_EQ(
      run_command(cli_path().string() + " bench -m " + model + " -p 8 -n 2 -r 1 -t 1 2>/dev/null",
                  &md),
      0)
      << md;
  EXPECT_NE(md.find("| model | size | params | backend | threads | test | t/s |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| slmkit | 1 | pp8 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| slmkit | 1 | tg2 |"), std::string::npos) << md;
  std::string csv;
  ASSERT_EQ(run_command(cli_path().string() + " bench -o csv -m " + model +
                            " -p 8 -n 0 -r 1 -t 1 2>/dev/null",
                        &csv),
            0);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2) << csv;
  EXPECT_EQ(csv.rfind("backend,model_filename,", 0), 0u) << csv;
  std::string err;
  EXPECT_EQ(run_command(cli_path().string() + " bench -m " + model + " -p 8 -n 2 -r 0", &err), 2)
      << err;
  // A model the child cannot open: the child's one-line error becomes the command's.
  EXPECT_EQ(run_command(cli_path().string() + " bench -m /nonexistent/m.gguf -p 8 -n 2", &err), 2);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(err.rfind("slmkit: error: /nonexistent/m.gguf", 0), 0u) << err;
}

}  // namespace
}  // namespace slmkit
