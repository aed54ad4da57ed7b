// `slmkit pipeline --task` and `slmkit validate --task`: task accuracy in the manifests and the
// report equals what the evaluation API gives for the same file and model (the same scorer, so
// exactly), a bad task file stops the run before any work, and the accuracy floor (pipeline and
// validate) passes and fails where it must.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "peers/ort_peer.h"
#include "slmkit/engine.h"
#include "slmkit/model.h"
#include "slmkit/task_eval.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {
namespace fs = std::filesystem;
using testing::cli_path;
using testing::fixture;
using testing::run_command;

std::string stories260k() {
  return fixture("models/llama2c-stories260K/stories260K.bin").string();
}

// The first `n` items of the repository's story task (hellaswag: 6 lines per item).
fs::path task_slice(const fs::path& dir, int n) {
  std::ifstream in(testing::source_dir() / "tasks/tinystories-next-sentence.txt");
  const fs::path path = dir / "stories20.txt";
  std::ofstream out(path);
  std::string line;
  for (int i = 0; i < 6 * n && std::getline(in, line); ++i) out << line << '\n';
  return path;
}

TaskResult score(const fs::path& model_path, const fs::path& task_path) {
  Model model = load_model(model_path);
  const Tokenizer tokenizer(model.vocab);
  const Engine engine(std::move(model));
  return evaluate_task(engine, tokenizer, read_task(task_path), TaskEvalOptions{});
}

TEST(CliPipelineTask, ManifestAndReportCarryTheEvaluatorsAccuracy) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path out = testing::temp_dir("pipeline-task");
  const fs::path task = task_slice(out, 20);
  std::string log;
  ASSERT_EQ(
      run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                      (out / "run").string() + " --gguf Q8_0 --onnx none --task " + task.string() +
                      " --task-name os_benchmark --min-accuracy-ratio 0.5 -p 8 -n 4 -r 1 -t 2 "
                      "--sample-tokens 0",
                  &log),
      0)
      << log;
  const TaskResult q8 = score(out / "run/stories260K-Q8_0.gguf", task);
  const TaskResult f32 = score(stories260k(), task);
  ASSERT_EQ(q8.n_items, 20);

  const auto manifest =
      nlohmann::json::parse(testing::read_text(out / "run/manifests/stories260K-Q8_0.json"));
  const auto& perf = manifest.at("performance");
  const auto& acc = perf.at("task_accuracy");
  EXPECT_EQ(acc.at("task"), "os_benchmark");
  EXPECT_EQ(acc.at("items"), 20);
  // The pipeline runs the evaluator's own scorer on the same engine and items: equal bits.
  EXPECT_EQ(acc.at("accuracy").get<double>(), q8.accuracy);
  EXPECT_EQ(acc.at("stderr").get<double>(), q8.accuracy_error);
  EXPECT_EQ(perf.at("os_benchmark_accuracy").get<double>(), q8.accuracy);

  const std::string md = testing::read_text(out / "run/report.md");
  EXPECT_NE(md.find("| perplexity | accuracy | prefill t/s |"), std::string::npos) << md;
  const auto cell = [](const TaskResult& r) {
    return fmt::format("| {:.2f} +/- {:.2f} % |", 100 * r.accuracy, 100 * r.accuracy_error);
  };
  EXPECT_NE(
      md.find("| **stories260K (FP32 baseline)** | llama2c | F32 | 1.01 MiB | n/a " + cell(f32)),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("| stories260K-Q8_0 | gguf | Q8_0 | 336.2 KiB | n/a " + cell(q8)),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("Task accuracy: `os_benchmark` (stories20.txt, hellaswag), 20 items"),
            std::string::npos)
      << md;
  // The floor, judged in the artifact's validation as `slmkit validate` judges it.
  const auto checks =
      nlohmann::json::parse(testing::read_text(out / "run/validation_reports/"
                                                     "stories260K-Q8_0_gguf_validation.json"))
          .at("checks");
  const auto floor = std::find_if(checks.begin(), checks.end(),
                                  [](const auto& c) { return c.at("name") == "task_accuracy"; });
  ASSERT_NE(floor, checks.end()) << checks.dump(2);
  EXPECT_TRUE(floor->at("passed").get<bool>());
  EXPECT_EQ(floor->at("value").get<double>(), q8.accuracy);
  EXPECT_EQ(floor->at("bound").get<double>(), 0.5 * f32.accuracy);

  const std::string html = testing::read_text(out / "run/report.html");
  EXPECT_NE(html.find("<th>accuracy</th>"), std::string::npos);
  EXPECT_NE(html.find("Size vs task accuracy (higher is better)"), std::string::npos);

  // Without --task-name: the file's stem, and no os_benchmark_accuracy.
  ASSERT_EQ(
      run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                      (out / "named").string() + " --gguf Q8_0 --onnx none --task " +
                      task.string() + " --task-items 5 -p 8 -n 4 -r 1 -t 2 " + "--sample-tokens 0",
                  &log),
      0)
      << log;
  const auto perf5 =
      nlohmann::json::parse(testing::read_text(out / "named/manifests/stories260K-Q8_0.json"))
          .at("performance");
  EXPECT_EQ(perf5.at("task_accuracy").at("task"), "stories20");
  EXPECT_EQ(perf5.at("task_accuracy").at("items"), 5);
  EXPECT_FALSE(perf5.contains("os_benchmark_accuracy"));
}

// An ONNX precision is scored through ONNX Runtime on its no-cache graph: the manifest holds what
// evaluate_task_onnx gives on the same graph and item. Slow: a peer process per sequence (one
// item, four sequences, about a second each; the scorer itself is TaskOnnx.*'s business).
TEST(CliPipelineTask, SlowOnnxScoredThroughOnnxRuntime) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::OrtPeer::available()) GTEST_SKIP() << peers::OrtPeer::unavailable_reason();
  const fs::path out = testing::temp_dir("pipeline-task-onnx");
  const fs::path task = task_slice(out, 20);
  std::string log;
  ASSERT_EQ(run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                            (out / "run").string() + " --gguf none --onnx fp32 --onnx-variants " +
                            "plain --task " + task.string() +
                            " --task-items 1 -p 8 -n 4 -r 1 -t 2 --sample-tokens 0",
                        &log),
            0)
      << log;
  const fs::path folder = out / "run/stories260K_onnx";
  TaskEvalOptions o;
  o.n_items = 1;
  o.n_threads = 2;
  const TaskResult expected =
      evaluate_task_onnx(folder, folder / "onnx/decoder_model.onnx",
                         Tokenizer(load_model(stories260k()).vocab), read_task(task), o);
  const auto acc =
      nlohmann::json::parse(testing::read_text(out / "run/manifests/stories260K_onnx-fp32.json"))
          .at("performance")
          .at("task_accuracy");
  EXPECT_EQ(acc.at("items"), 1);
  EXPECT_EQ(acc.at("accuracy").get<double>(), expected.accuracy);
  EXPECT_EQ(acc.at("stderr").get<double>(), expected.accuracy_error);
}

// A floor no artifact can meet (10 x the baseline's accuracy, above 100 % once the baseline gets
// one item right): the run finishes, exits 1 and the report names the check with its numbers.
TEST(CliPipelineTask, AccuracyFloorFailsTheArtifact) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path out = testing::temp_dir("pipeline-task-floor");
  const fs::path task = task_slice(out, 20);
  ASSERT_GT(score(stories260k(), task).n_correct, 0);
  std::string log;
  EXPECT_EQ(
      run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                      (out / "run").string() + " --gguf Q8_0 --onnx none --task " + task.string() +
                      " --min-accuracy-ratio 10 -p 8 -n 4 -r 1 -t 2 --sample-tokens 0",
                  &log),
      1)
      << log;
  const std::string md = testing::read_text(out / "run/report.md");
  EXPECT_NE(md.find("**Result: FAILED** (0 of 1 artifacts passed validation)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("- `stories260K-Q8_0`: task_accuracy = "), std::string::npos) << md;
  EXPECT_NE(md.find("floor 10 x the reference's"), std::string::npos) << md;
}

TEST(CliPipelineTask, BadTaskFileExitsTwoBeforeAnyWork) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path out = testing::temp_dir("pipeline-task-bad");
  const fs::path bad = out / "bad.txt";
  std::ofstream(bad) << "A context.\n7\none\ntwo\nthree\nfour\n";
  std::string log;
  EXPECT_EQ(
      run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                      (out / "x").string() + " --gguf Q8_0 --onnx none --task " + bad.string(),
                  &log),
      2);
  EXPECT_NE(log.find("bad.txt"), std::string::npos) << log;
  EXPECT_NE(log.find("line 2"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out / "x"));
  EXPECT_EQ(run_command(cli_path().string() + " pipeline " + stories260k() + " -o " +
                            (out / "x").string() + " --task-items 5",
                        &log),
            2);
  EXPECT_NE(log.find("need --task FILE"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out / "x"));
}

// The accuracy floor of `slmkit validate`: the check's value is the artifact's accuracy and its
// bound R x the reference's, both as the evaluator computes them; R = 0.5 passes and R = 10 (an
// accuracy above 100 % for any reference that gets one item right) fails.
TEST(CliValidateTask, AccuracyFloorPassesAndFails) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path out = testing::temp_dir("validate-task");
  const fs::path task = task_slice(out, 20);
  const fs::path q8 = out / "stories260K-Q8_0.gguf";
  std::string log;
  ASSERT_EQ(
      run_command(cli_path().string() + " quantize " + stories260k() + " -t Q8_0 -o " + q8.string(),
                  &log),
      0)
      << log;
  const TaskResult art = score(q8, task);
  const TaskResult ref = score(stories260k(), task);
  ASSERT_GT(ref.n_correct, 0);
  const auto validate = [&](const std::string& ratio, const std::string& dir) {
    return run_command(cli_path().string() + " validate " + q8.string() + " --reference " +
                           stories260k() + " --task " + task.string() + " --min-accuracy-ratio " +
                           ratio + " -t 2 --out " + (out / dir).string(),
                       &log);
  };
  const auto check = [&](const std::string& dir) {
    const auto report = nlohmann::json::parse(
        testing::read_text(out / dir / "stories260K-Q8_0_gguf_validation.json"));
    for (const auto& c : report.at("checks")) {
      if (c.at("name") == "task_accuracy") return c;
    }
    ADD_FAILURE() << "no task_accuracy check in " << report.dump(2);
    return nlohmann::json();
  };
  EXPECT_EQ(validate("0.5", "pass"), 0) << log;
  const auto pass = check("pass");
  EXPECT_EQ(pass.at("category"), "functional");
  EXPECT_TRUE(pass.at("passed").get<bool>());
  EXPECT_EQ(pass.at("value").get<double>(), art.accuracy);
  EXPECT_EQ(pass.at("bound").get<double>(), 0.5 * ref.accuracy);
  EXPECT_EQ(pass.at("comparison"), ">=");

  EXPECT_EQ(validate("10", "fail"), 1) << log;
  const auto fail = check("fail");
  EXPECT_FALSE(fail.at("passed").get<bool>());
  EXPECT_EQ(fail.at("bound").get<double>(), 10 * ref.accuracy);
  EXPECT_NE(log.find("FAIL functional task_accuracy"), std::string::npos) << log;

  // A floor without a task is bad input.
  EXPECT_EQ(run_command(cli_path().string() + " validate " + q8.string() +
                            " --min-accuracy-ratio 0.5 --out " + (out / "bad").string(),
                        &log),
            2);
  EXPECT_NE(log.find("need --task"), std::string::npos) << log;
}

}  // namespace
}  // namespace slmkit
