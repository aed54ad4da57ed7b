// The slmkit binary as a user runs it: synth, inspect (text and --json), and its bad-input
// contract.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::cli_path;
using testing::fixture;
using testing::run_command;

nlohmann::json inspect_json(const std::string& model_args) {
  std::string out;
  const int rc =
      run_command(cli_path().string() + " inspect --json " + model_args + " 2>/dev/null", &out);
  EXPECT_EQ(rc, 0) << out;
  return nlohmann::json::parse(out);
}

TEST(CliInspect, FixtureParameterCounts) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto bin = inspect_json(fixture("models/llama2c-stories260K/stories260K.bin").string());
  EXPECT_EQ(bin["parameters"], 260032);
  EXPECT_EQ(bin["format"], "llama2c");
  EXPECT_EQ(bin["tokenizer"]["tokens"], 512);
  const auto gguf = inspect_json(fixture("models/gguf-stories260K/stories260K.gguf").string());
  EXPECT_EQ(gguf["parameters"], 260032);
  EXPECT_EQ(gguf["tied_copy_elements"], 32768);
  EXPECT_EQ(gguf["metadata"]["general.architecture"], "llama");
  EXPECT_EQ(inspect_json(fixture("models/stories3M/stories3M.gguf").string())["parameters"],
            3410176);
  EXPECT_EQ(inspect_json(fixture("models/hf-gpt2-tiny-random").string())["parameters"], 811520);
  const auto tiny =
      inspect_json(fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf").string());
  EXPECT_EQ(tiny["config"]["embedding_length"], 8);
  EXPECT_EQ(tiny["bytes_per_type"]["f16"]["elements"].get<int64_t>() +
                tiny["bytes_per_type"]["f32"]["elements"].get<int64_t>(),
            tiny["parameters"].get<int64_t>() + tiny["tied_copy_elements"].get<int64_t>());
}

TEST(CliInspect, SyntheticDistilgpt2) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto dir = testing::temp_dir("cli-synth");
  const auto out = dir / "distilgpt2.gguf";
  std::string log;
  ASSERT_EQ(run_command(cli_path().string() +
                            " synth --arch gpt2 --shape distilgpt2 --dtype f16 --seed 3 -o " +
                            out.string() + " --tokenizer-dir " + fixture("tokenizers").string(),
                        &log),
            0)
      << log;
  const auto j = inspect_json(out.string());
  EXPECT_EQ(j["parameters"], 81912576);
  EXPECT_EQ(j["synthetic"], true);
  EXPECT_EQ(j["metadata"]["slmkit.synthetic"], true);
  EXPECT_EQ(j["tokenizer"]["tokens"], 50257);
  EXPECT_EQ(j["tokenizer"]["merges"], 50000);
  std::string text;
  ASSERT_EQ(run_command(cli_path().string() + " inspect " + out.string(), &text), 0);
  EXPECT_NE(text.find("81912576 (81.9M)"), std::string::npos) << text;
  EXPECT_NE(text.find("synthetic: random weights"), std::string::npos);
}

// Truncated or corrupted input: exit code 2 and one line naming the file.
TEST(CliInspect, BadInputExitsTwoWithOneLine) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto dir = testing::temp_dir("cli-bad");
  auto bytes = testing::read_bytes(fixture("models/gguf-stories260K/stories260K.gguf"));
  bytes.resize(1000);
  testing::write_bytes(dir / "cut.gguf", bytes);
  std::string out;
  EXPECT_EQ(run_command(cli_path().string() + " inspect " + (dir / "cut.gguf").string(), &out), 2);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(out.rfind("slmkit: error: " + (dir / "cut.gguf").string(), 0), 0u) << out;
  EXPECT_EQ(run_command(cli_path().string() + " inspect /nonexistent/model.gguf", &out), 2);
  EXPECT_EQ(run_command(cli_path().string() + " synth --arch mamba -o " + (dir / "x.gguf").string(),
                        &out),
            2);
  EXPECT_NE(out.find("supported: gpt2, llama, gemma3, qwen2"), std::string::npos) << out;
  EXPECT_EQ(run_command(cli_path().string() + " frobnicate", &out), 2);
}

}  // namespace
}  // namespace slmkit
