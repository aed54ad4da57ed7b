// `slmkit pipeline` as a user runs it: the whole output tree on stories260K with every validation
// passing, checksums that sha256sum and `slmkit verify` accept and that catch a one-byte change,
// a failed check that exits non-zero and is named in the report, and a run killed midway that a
// re-run completes with the same checksums as an uninterrupted run.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <string>
#include <thread>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace slmkit {
namespace {
namespace fs = std::filesystem;
using testing::cli_path;
using testing::fixture;
using testing::run_command;

// Small enough for seconds: two chunks of 64 tokens, pp16/tg8 once, two threads.
std::string small_run_flags() {
  return " --eval " + fixture("text/tinystories_val_subset.txt").string() +
         " --ppl-ctx 64 --ppl-chunks 2 -p 16 -n 8 -r 1 -t 2";
}

std::string stories260k() {
  return fixture("models/llama2c-stories260K/stories260K.bin").string();
}

void flip_byte(const fs::path& p, uint64_t offset) {
  auto bytes = testing::read_bytes(p);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] ^= std::byte{0x01};
  testing::write_bytes(p, bytes);
}

TEST(CliPipeline, SlowStories260KFullTreeVerifiedAndTamperCaught) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ONNX();
  const fs::path out = testing::temp_dir("pipeline-e2e");
  std::string log;
  ASSERT_EQ(run_command(cli_path().string() + " pipeline " + stories260k() + " -o " + out.string() +
                            " --gguf F16,Q8_0 --onnx fp32" + small_run_flags(),
                        &log),
            0)
      << log;
  for (const char* f :
       {"stories260K-F16.gguf", "stories260K-Q8_0.gguf", "stories260K_onnx/config.json",
        "stories260K_onnx/onnx/model.onnx", "stories260K_onnx/onnx/decoder_model.onnx",
        "manifests/stories260K-F16.json", "manifests/stories260K-Q8_0.json",
        "manifests/checksums.txt", "report.md", "report.html"}) {
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f << "\n" << log;
  }
  int n_reports = 0;
  for (const auto& e : fs::directory_iterator(out / "validation_reports")) {
    n_reports += e.path().string().ends_with("_validation.json");
  }
  EXPECT_EQ(n_reports, 3);
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    EXPECT_EQ(e.path().string().find(".partial-"), std::string::npos) << e.path();
  }
  const std::string md = testing::read_text(out / "report.md");
  EXPECT_NE(md.find("**Result: PASSED** (3 of 3 artifacts passed validation)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| **stories260K (FP32 baseline)** | llama2c | F32 |"), std::string::npos);
  EXPECT_NE(log.find("[1/8] build stories260K-F16.gguf"), std::string::npos) << log;

  std::string check;
  EXPECT_EQ(run_command("cd " + out.string() + " && sha256sum -c manifests/checksums.txt", &check),
            0)
      << check;
  const std::string verify =
      cli_path().string() + " verify " + (out / "manifests/checksums.txt").string();
  EXPECT_EQ(run_command(verify, &check), 0) << check;
  // One byte changed in each kind of file: a GGUF, an ONNX graph, the export's config.
  for (const char* f : {"stories260K-Q8_0.gguf", "stories260K_onnx/onnx/model.onnx",
                        "stories260K_onnx/config.json"}) {
    const auto original = testing::read_bytes(out / f);
    flip_byte(out / f, original.size() / 2);
    EXPECT_NE(run_command(verify, &check), 0) << f;
    EXPECT_NE(check.find(f), std::string::npos) << check;
    testing::write_bytes(out / f, original);
  }
  EXPECT_EQ(run_command(verify, &check), 0) << check;

  // Re-running keeps every artifact (nothing rebuilt) and passes again.
  ASSERT_EQ(run_command(cli_path().string() + " pipeline " + stories260k() + " -o " + out.string() +
                            " --gguf F16,Q8_0 --onnx fp32" + small_run_flags(),
                        &log),
            0)
      << log;
  EXPECT_NE(log.find("kept (complete from an earlier run)"), std::string::npos) << log;
}

// Every artifact's KL divergence is llama-perplexity's --kl-divergence measure against the
// baseline on the --eval text: what `slmkit perplexity --kl-divergence` prints (6 decimals) from a
// base the input writes. A -t auto mix between Q4_0 and Q8_0 in size, closer to the baseline than
// Q4_0 (measured 0.019 vs 0.095 at 8 chunks), validates and is named on the Pareto front.
TEST(CliPipeline, SlowKlDivergenceAndAnAutoMixOnTheParetoFront) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path out = testing::temp_dir("pipeline-kld");
  const std::string input = fixture("models/gguf-stories260K/stories260K.gguf").string();
  const std::string cli = cli_path().string();
  std::string log;
  ASSERT_EQ(run_command(cli + " pipeline " + input + " -o " + out.string() +
                            " --gguf Q4_0,Q8_0,auto:300000 --onnx none" + small_run_flags(),
                        &log),
            0)
      << log;
  const std::string base = (out / "base.kld").string();
  ASSERT_EQ(run_command(cli + " perplexity -m " + input + " -f " +
                            fixture("text/tinystories_val_subset.txt").string() +
                            " -c 64 --chunks 2 -t 2 --kl-base " + base,
                        &log),
            0)
      << log;
  std::map<std::string, double> kld;
  for (const std::string name : {"Q4_0", "Q8_0", "auto-300000B"}) {
    const nlohmann::json m = nlohmann::json::parse(
        testing::read_text(out / "manifests" / ("stories260K-" + name + ".json")));
    ASSERT_TRUE(m["performance"].contains("kl_divergence")) << m.dump(2);
    kld[name] = m["performance"]["kl_divergence"].get<double>();
    ASSERT_EQ(
        run_command(cli + " perplexity -m " + (out / ("stories260K-" + name + ".gguf")).string() +
                        " --kl-divergence " + base + " -t 2",
                    &log),
        0)
        << log;
    const size_t at = log.find("Mean    KLD:");
    ASSERT_NE(at, std::string::npos) << log;
    EXPECT_NEAR(kld[name], std::stod(log.substr(at + 12)), 5e-7) << name << "\n" << log;
  }
  EXPECT_LT(kld["auto-300000B"], kld["Q4_0"]);
  EXPECT_GT(kld["auto-300000B"], kld["Q8_0"]);
  const std::string md = testing::read_text(out / "report.md");
  EXPECT_NE(md.find("| stories260K-auto-300000B (Pareto) | gguf |"), std::string::npos) << md;
  EXPECT_NE(md.find("**Result: PASSED** (3 of 3 artifacts passed validation)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("On the size / KL divergence / decode speed Pareto front:"), std::string::npos);
  EXPECT_NE(testing::read_text(out / "report.html").find("class=\"front\""), std::string::npos);
}

// A bound nothing meets: the run finishes, exits 1 and the report names the check and numbers.
TEST(CliPipeline, FailedCheckExitsOneAndIsNamed) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path out = testing::temp_dir("pipeline-fail");
  std::string log;
  EXPECT_EQ(run_command(cli_path().string() + " pipeline " + stories260k() + " -o " + out.string() +
                            " --gguf F16 --onnx none --min-tps 1e12 -p 8 -n 4 "
                            "-r 1 -t 2",
                        &log),
            1)
      << log;
  const std::string md = testing::read_text(out / "report.md");
  EXPECT_NE(md.find("**Result: FAILED** (0 of 1 artifacts passed validation)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("## Failed checks"), std::string::npos);
  EXPECT_NE(md.find("(bound >= 1e+12)"), std::string::npos) << md;
  EXPECT_TRUE(fs::is_regular_file(out / "report.html"));
}

TEST(CliPipeline, BadOptionsExitTwoBeforeAnyWork) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path out = testing::temp_dir("pipeline-bad");
  std::string log;
  EXPECT_EQ(run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                            (out / "x").string() + " --gguf Q9_9",
                        &log),
            2);
  EXPECT_NE(log.find("--gguf Q9_9: unknown type"), std::string::npos) << log;
  EXPECT_EQ(run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                            (out / "x").string() + " --onnx int3",
                        &log),
            2);
  EXPECT_FALSE(fs::exists(out / "x"));
}

// Starts the pipeline, kills it (SIGKILL: no clean-up runs) once the first artifact is complete,
// re-runs it and compares the checksums with those of an uninterrupted run.
TEST(CliPipeline, SlowKilledMidRunResumesWithSameChecksums) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ONNX();
  const fs::path killed = testing::temp_dir("pipeline-killed");
  const fs::path clean = testing::temp_dir("pipeline-clean");
  const std::string args = " pipeline " + stories260k() + " --gguf F16,Q8_0,Q4_0 --onnx fp32,int8" +
                           small_run_flags() + " -o ";
  const std::string command = cli_path().string() + args + killed.string() + " >/dev/null 2>&1";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(killed / "stories260K-F16.gguf") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the pipeline finished before it could be killed";
  EXPECT_FALSE(fs::exists(killed / "report.md"));

  std::string log;
  ASSERT_EQ(run_command(cli_path().string() + args + killed.string(), &log), 0) << log;
  ASSERT_EQ(run_command(cli_path().string() + args + clean.string(), &log), 0) << log;
  for (const auto& e : fs::recursive_directory_iterator(killed)) {
    EXPECT_EQ(e.path().string().find(".partial-"), std::string::npos) << e.path();
  }
  const std::string sums = testing::read_text(killed / "manifests/checksums.txt");
  EXPECT_EQ(sums, testing::read_text(clean / "manifests/checksums.txt"));
  EXPECT_NE(sums.find("stories260K-Q4_0.gguf"), std::string::npos) << sums;
  EXPECT_NE(sums.find("stories260K_onnx/onnx/model_int8.onnx"), std::string::npos) << sums;
  EXPECT_EQ(
      run_command(cli_path().string() + " verify " + (killed / "manifests/checksums.txt").string(),
                  &log),
      0)
      << log;
}

// The README's main command's model: a synthetic distilgpt2 (random weights, GPT-2 tokenizer).
// F32 weights, so the baseline really is FP32: from an F16 input the ONNX fp32 export measures
// 1.7e-4 of the logit range against the engine's F16 matmuls, outside validate's fp32 bound (1e-4,
// set for same-weights summation-order differences).
TEST(CliPipeline, SlowSyntheticDistilgpt2) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ONNX();
  const fs::path dir = testing::temp_dir("pipeline-distilgpt2");
  const fs::path model = dir / "synthetic-distilgpt2.gguf";
  std::string log;
  ASSERT_EQ(run_command(cli_path().string() +
                            " synth --arch gpt2 --shape distilgpt2 --dtype f32 --seed 0 -o " +
                            model.string() + " --tokenizer-dir " + fixture("tokenizers").string(),
                        &log),
            0)
      << log;
  // Speed floor 1 t/s: this test checks the tree and the checks' logic on a shared 2-core
  // machine, not the machine's speed.
  ASSERT_EQ(run_command(cli_path().string() + " pipeline " + model.string() + " -o " +
                            (dir / "out").string() + " --gguf F16 --onnx fp32 --eval " +
                            fixture("text/wiki.test.raw").string() +
                            " --ppl-ctx 64 --ppl-chunks 1 -p 16 -n 4 -r 1 -t 2 --min-tps 1",
                        &log),
            0)
      << log;
  const std::string md = testing::read_text(dir / "out/report.md");
  EXPECT_NE(md.find("> **Synthetic model: random weights"), std::string::npos) << md;
  EXPECT_NE(md.find("**Result: PASSED** (2 of 2 artifacts passed validation)"), std::string::npos)
      << md;
  EXPECT_TRUE(fs::is_regular_file(dir / "out/synthetic-distilgpt2-F16.gguf"));
  EXPECT_TRUE(fs::is_regular_file(dir / "out/synthetic-distilgpt2_onnx/onnx/model.onnx"));
  EXPECT_EQ(
      run_command(cli_path().string() + " verify " + (dir / "out/manifests/checksums.txt").string(),
                  &log),
      0)
      << log;
}

// `slmkit synth` with no tokenizer files (an empty --tokenizer-dir) writes its byte-level
// vocabulary; the pipeline builds, validates and measures every artifact of that model. No
// ../shared needed: the evaluation text is the one the repository carries.
TEST(CliPipeline, SyntheticWithoutTokenizerFilesPasses) {
  SLMKIT_REQUIRE_ONNX();
  const fs::path dir = testing::temp_dir("pipeline-no-tokenizer");
  const fs::path model = dir / "tiny.gguf";
  std::string log;
  ASSERT_EQ(run_command(cli_path().string() + " synth --arch llama --shape tiny -o " +
                            model.string() + " --tokenizer-dir ''",
                        &log),
            0)
      << log;
  EXPECT_NE(log.find("tokenizer: slmkit byte-level fallback"), std::string::npos) << log;
  // Speed floor 1 t/s: the tree and the checks' logic, not the shared machine's speed.
  ASSERT_EQ(run_command(cli_path().string() + " pipeline " + model.string() + " -o " +
                            (dir / "out").string() + " --gguf F16,Q8_0 --onnx fp32 --eval " +
                            (testing::source_dir() / "models/stories-eval.txt").string() +
                            " --ppl-ctx 64 --ppl-chunks 2 -p 8 -n 4 -r 1 -t 2 --min-tps 1",
                        &log),
            0)
      << log;
  const std::string md = testing::read_text(dir / "out/report.md");
  EXPECT_NE(md.find("**Result: PASSED** (3 of 3 artifacts passed validation)"), std::string::npos)
      << md;
}

// What scripts/quickstart.sh runs with no arguments: the repository's stories3M (F16 GGUF) with
// its default artifacts, perplexity on the stories the repository carries (text the model never
// saw) and a generated sample, all without ../shared.
TEST(CliPipeline, SlowBundledStories3MAsTheQuickStartRunsIt) {
  const fs::path dir = testing::temp_dir("pipeline-bundled-stories3M");
  std::string log;
  ASSERT_EQ(run_command(cli_path().string() + " pipeline " +
                            (testing::source_dir() / "models/stories3M-F16.gguf").string() +
                            " -o " + (dir / "out").string() + " --name stories3M --eval " +
                            (testing::source_dir() / "models/stories-eval.txt").string() +
                            " --ppl-chunks 16 -p 16 -n 4 -r 1 -t 2 --min-tps 1",
                        &log),
            0)
      << log;
  const std::string md = testing::read_text(dir / "out/report.md");
  EXPECT_NE(md.find("**Result: PASSED** (6 of 6 artifacts passed validation)"), std::string::npos)
      << md;
  EXPECT_EQ(md.find("Synthetic model"), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(dir / "out/stories3M-Q4_K_M.gguf"));
  EXPECT_TRUE(fs::is_regular_file(dir / "out/stories3M_onnx/onnx/model_q4.onnx"));
  const auto manifest =
      nlohmann::json::parse(testing::read_text(dir / "out/manifests/stories3M-Q8_0.json"));
  EXPECT_EQ(manifest["model_name"], "stories3M");
  // The fixtures README's greedy continuation of stories3M (F32); the F16 weights keep it.
  EXPECT_NE(md.find("> Once upon a time, there was a little girl named Lily. She loved to play "
                    "outside in the park."),
            std::string::npos)
      << md;
}

}  // namespace
}  // namespace slmkit
