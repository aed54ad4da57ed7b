// The tools produce the same files and reports as the CLI: GGUF and ONNX bytes, the validation
// report's checks, the manifest (but its timestamp) and checksums.txt, `slmkit run --temp 0`'s
// text. On stories260K, in a root that holds a copy of it.
#include <fstream>

#include <gtest/gtest.h>

#include "mcp/json_schema.h"
#include "mcp/tool.h"
#include "mcp_harness.h"
#include "peers/ort_peer.h"
#include "support/fixtures.h"

namespace slmkit::testing {
namespace {
namespace fs = std::filesystem;

std::string tool_text(const ojson& result) {
  std::string s;
  for (const ojson& c : result["content"]) s += c["text"].get<std::string>() + "\n";
  return s;
}

// Runs the CLI with its stdout to a file; returns the exit status.
int cli(const std::string& args, std::string* out = nullptr) {
  const fs::path log = temp_dir("mcp-cli-log") / "out.txt";
  // run_command sends stderr after stdout: the subshell keeps the CLI's stderr out of the log.
  std::string command = "('";
  command += cli_path().string() + "' " + args + " 2>/dev/null) > '" + log.string() + "'";
  const int rc = run_command(command, nullptr);
  if (out) *out = read_text(log);
  return rc;
}

std::string q(const fs::path& p) {
  std::string s = "'";
  s += p.string();
  s += "'";
  return s;
}

class McpTools : public ::testing::Test {
 protected:
  void SetUp() override {
    SLMKIT_REQUIRE_FIXTURES();
    root_ = temp_dir("mcp-tools");
    model_ = root_ / "stories260K.gguf";
    fs::copy_file(fixture("models/gguf-stories260K/stories260K.gguf"), model_);
    harness_ = std::make_unique<McpHarness>(std::vector<fs::path>{root_});
    harness_->initialize();
  }
  // A successful call's structuredContent (the test fails on a tool error), checked against the
  // tool's outputSchema.
  ojson call(const std::string& tool, const ojson& args) {
    const ojson r = harness_->call_and_wait(++id_, tool, args);
    EXPECT_EQ(r.value("isError", true), false) << tool_text(r);
    const ojson s = r.value("structuredContent", ojson::object());
    for (const std::string& e : mcp::schema_errors(mcp::find_tool(tool)->output_schema, s, tool)) {
      ADD_FAILURE() << "outputSchema: " << e;
    }
    return s;
  }

  fs::path root_, model_;
  std::unique_ptr<McpHarness> harness_;
  int id_ = 0;
};

TEST_F(McpTools, ExportGgufWritesTheCliBytes) {
  for (const std::string type : {"Q8_0", "Q4_K_M"}) {
    const ojson s = call("export_gguf", {{"model_path", "stories260K.gguf"},
                                         {"output_path", "tool/s-" + type + ".gguf"},
                                         {"quant_type", type}});
    const fs::path tool = root_ / "tool" / ("s-" + type + ".gguf");
    ASSERT_TRUE(fs::exists(tool));
    EXPECT_EQ(s["gguf_path"], tool.string());
    EXPECT_EQ(s["quant_type"], type);
    EXPECT_EQ(s["size_bytes"], fs::file_size(tool));
    const fs::path cli_gguf = root_ / ("cli-" + type + ".gguf");
    const fs::path cli_json = root_ / ("cli-" + type + ".json");
    ASSERT_EQ(cli("quantize " + q(model_) + " -t " + type + " -o " + q(cli_gguf) + " --json " +
                  q(cli_json)),
              0);
    EXPECT_EQ(read_bytes(tool), read_bytes(cli_gguf)) << type;
    const ojson report = ojson::parse(read_text(cli_json));
    EXPECT_EQ(s["n_fallback"], report["n_fallback"]) << type;
    EXPECT_EQ(s["n_tensors"], report["tensors"].size());
    EXPECT_EQ(s["file_type"], report["file_type"]);
    // stories260K's rows (64, 172) do not fit 256-wide K blocks: Q4_K_M has fallbacks to show.
    if (type == "Q4_K_M") {
      EXPECT_GT(s["fallbacks"].size(), 0u);
    }
  }
  // The tool replaces its own kind of file, never anything else.
  std::ofstream(root_ / "notes.txt") << "mine";
  const ojson r = harness_->call_and_wait(
      ++id_, "export_gguf",
      {{"model_path", "stories260K.gguf"}, {"output_path", "notes.txt"}, {"quant_type", "Q8_0"}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(tool_text(r).find("exists and is not a GGUF file"), std::string::npos);
  EXPECT_EQ(read_text(root_ / "notes.txt"), "mine");
  const ojson self = harness_->call_and_wait(++id_, "export_gguf",
                                             {{"model_path", "stories260K.gguf"},
                                              {"output_path", "stories260K.gguf"},
                                              {"quant_type", "Q8_0"}});
  EXPECT_NE(tool_text(self).find("is model_path itself"), std::string::npos);
}

// quantize_auto writes what `slmkit quantize -t auto` writes with the same arguments, and refuses
// an impossible budget (naming the smallest reachable size) without writing. A short calibration
// (2 chunks of 64 tokens) keeps the measurement to seconds; its quality is auto_mix_test's.
TEST_F(McpTools, SlowQuantizeAutoWritesTheCliBytes) {
  const std::string text = read_text(fixture("text/tinystories_val_subset.txt")).substr(0, 4000);
  std::ofstream(root_ / "calib.txt") << text;
  const uint64_t target = 400000;  // between stories260K's smallest (260,640) and largest mix
  const ojson s = call("quantize_auto", {{"model_path", "stories260K.gguf"},
                                         {"output_path", "auto/s.gguf"},
                                         {"calibration_path", "calib.txt"},
                                         {"target_size", target},
                                         {"calib_ctx", 64},
                                         {"calib_chunks", 2}});
  const fs::path tool = root_ / "auto" / "s.gguf";
  ASSERT_TRUE(fs::exists(tool));
  EXPECT_EQ(s["written"], true);
  EXPECT_EQ(s["file_bytes"], fs::file_size(tool));
  EXPECT_LE(fs::file_size(tool), target);
  EXPECT_TRUE(fs::exists(root_ / "auto" / "s.gguf.mix.json"));
  const fs::path cli_gguf = root_ / "cli-auto.gguf";
  ASSERT_EQ(
      cli("quantize " + q(model_) + " -t auto -f " + q(root_ / "calib.txt") + " -o " + q(cli_gguf) +
          " --target-size " + std::to_string(target) + " --calib-ctx 64 --calib-chunks 2"),
      0);
  EXPECT_EQ(read_bytes(tool), read_bytes(cli_gguf));
  const ojson mix = ojson::parse(read_text(root_ / "cli-auto.gguf.mix.json"));
  ASSERT_EQ(s["tensors"].size(), mix["tensors"].size());
  for (size_t i = 0; i < mix["tensors"].size(); ++i) {
    EXPECT_EQ(s["tensors"][i]["type"], mix["tensors"][i]["type"]) << i;
  }

  // With an importance matrix: the CLI's `--imatrix` bytes again.
  ASSERT_EQ(cli("imatrix -m " + q(model_) + " -f " + q(fixture("text/tinystories_val_subset.txt")) +
                " -c 64 --chunks 4 -t 1 -o " + q(root_ / "im.gguf")),
            0);
  const ojson si = call("quantize_auto", {{"model_path", "stories260K.gguf"},
                                          {"output_path", "auto/si.gguf"},
                                          {"calibration_path", "calib.txt"},
                                          {"imatrix_path", "im.gguf"},
                                          {"target_size", target},
                                          {"calib_ctx", 64},
                                          {"calib_chunks", 2}});
  EXPECT_EQ(si["written"], true);
  ASSERT_EQ(cli("quantize " + q(model_) + " -t auto -f " + q(root_ / "calib.txt") + " --imatrix " +
                q(root_ / "im.gguf") + " -o " + q(root_ / "cli-si.gguf") + " --target-size " +
                std::to_string(target) + " --calib-ctx 64 --calib-chunks 2"),
            0);
  EXPECT_EQ(read_bytes(root_ / "auto" / "si.gguf"), read_bytes(root_ / "cli-si.gguf"));

  const ojson r = harness_->call_and_wait(++id_, "quantize_auto",
                                          {{"model_path", "stories260K.gguf"},
                                           {"output_path", "auto/tiny.gguf"},
                                           {"calibration_path", "calib.txt"},
                                           {"target_size", 1000}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(tool_text(r).find("the smallest reachable file is"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "auto" / "tiny.gguf"));
}

TEST_F(McpTools, ExportOnnxWritesTheCliFolder) {
  SLMKIT_REQUIRE_ONNX();
  const ojson s = call("export_onnx", {{"model_path", "stories260K.gguf"},
                                       {"output_path", "tool_onnx"},
                                       {"precisions", {"fp32"}},
                                       {"variants", {"plain", "with_past"}}});
  EXPECT_EQ(s["n_graphs"], 2);
  const fs::path cli_dir = root_ / "cli_onnx";
  ASSERT_EQ(cli("export onnx " + q(model_) + " -o " + q(cli_dir) +
                " --precision fp32 --variant plain,with_past"),
            0);
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(cli_dir)) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), cli_dir);
    EXPECT_EQ(read_bytes(e.path()), read_bytes(root_ / "tool_onnx" / rel)) << rel;
    ++n;
  }
  EXPECT_EQ(n, s["files"].size());
  // An ONNX export replaces an earlier export, not a folder that holds the model.
  const ojson r = harness_->call_and_wait(
      ++id_, "export_onnx", {{"model_path", "stories260K.gguf"}, {"output_path", "sub/.."}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(tool_text(r).find("root folder"), std::string::npos) << tool_text(r);
}

// Everything but what is timed.
ojson without_timings(ojson report) {
  report.erase("seconds");
  for (ojson& c : report["checks"]) {
    if (c["name"].get<std::string>().starts_with("tokens_per_second")) c.erase("value");
  }
  return report;
}

TEST_F(McpTools, ValidateFormatWritesTheCliReport) {
  call(
      "export_gguf",
      {{"model_path", "stories260K.gguf"}, {"output_path", "s-Q8_0.gguf"}, {"quant_type", "Q8_0"}});
  const fs::path gguf = root_ / "s-Q8_0.gguf";
  const ojson s = call("validate_format", {{"export_path", gguf.string()},
                                           {"format_type", "gguf"},
                                           {"reference_path", "stories260K.gguf"},
                                           {"report_dir", "reports_tool"}});
  ASSERT_EQ(cli("validate " + q(gguf) + " --reference " + q(model_) + " --out " +
                q(root_ / "reports_cli")),
            0);
  const fs::path name = "s-Q8_0_gguf_validation.json";
  EXPECT_EQ(s["report_path"], (root_ / "reports_tool" / name).string());
  const ojson tool_report = ojson::parse(read_text(root_ / "reports_tool" / name));
  const ojson cli_report = ojson::parse(read_text(root_ / "reports_cli" / name));
  EXPECT_EQ(without_timings(tool_report), without_timings(cli_report));
  ojson structured = s;
  structured.erase("report_path");
  EXPECT_EQ(structured, tool_report);  // what the tool returns is what it wrote
  EXPECT_EQ(s["passed"], true);
  EXPECT_GE(s["n_checks"].get<int>(), 10);

  // format_type must match the artifact.
  const ojson wrong = harness_->call_and_wait(
      ++id_, "validate_format", {{"export_path", "s-Q8_0.gguf"}, {"format_type", "onnx"}});
  EXPECT_EQ(wrong["isError"], true);
  EXPECT_NE(tool_text(wrong).find("format_type is onnx but"), std::string::npos);
}

TEST_F(McpTools, TestInferenceGivesSlmkitRunsText) {
  const ojson s = call("test_inference", {{"export_path", "stories260K.gguf"},
                                          {"format_type", "gguf"},
                                          {"test_prompts", {"Once upon a time", "The cat"}},
                                          {"reference_path", "stories260K.gguf"},
                                          {"max_new_tokens", 32}});
  ASSERT_EQ(s["prompts"].size(), 2u);
  const ojson& first = s["prompts"][0];
  // The fixture's known greedy continuation (llama.cpp's, in its README).
  EXPECT_TRUE(first["text"].get<std::string>().starts_with(
      ", there was a little girl named Lily. She loved to play outside in the park."))
      << first["text"];
  EXPECT_EQ(first["n_generated"], 32);
  EXPECT_GT(first["tokens_per_second"].get<double>(), 0);
  // Against itself as reference every agreement check passes, logits exactly.
  EXPECT_EQ(s["passed"], true);
  bool saw_logits = false;
  for (const ojson& c : first["agreement"]) {
    if (c["name"] == "logits.max_abs_diff_rel") {
      saw_logits = true;
      EXPECT_EQ(c["value"], 0.0);
    }
  }
  EXPECT_TRUE(saw_logits);
  for (int i = 0; i < 2; ++i) {
    const std::string prompt = s["prompts"][i]["prompt"];
    std::string out;
    ASSERT_EQ(cli("run -m " + q(model_) + " -p '" + prompt + "' --temp 0 -n 32", &out), 0);
    EXPECT_EQ(out, prompt + s["prompts"][i]["text"].get<std::string>() + "\n");
  }
}

TEST_F(McpTools, TestInferenceOnOnnxRunsOnnxRuntime) {
  if (!peers::OrtPeer::available()) {
    GTEST_SKIP() << "ONNX Runtime peer not available: " << peers::OrtPeer::unavailable_reason();
  }
  call("export_onnx", {{"model_path", "stories260K.gguf"},
                       {"output_path", "s_onnx"},
                       {"precisions", {"fp32", "int8"}},
                       {"variants", {"plain", "with_past"}}});
  const ojson gguf = call("test_inference", {{"export_path", "stories260K.gguf"},
                                             {"format_type", "gguf"},
                                             {"test_prompts", {"Once upon a time"}},
                                             {"max_new_tokens", 16}});
  const ojson onnx = call("test_inference", {{"export_path", "s_onnx"},
                                             {"format_type", "onnx"},
                                             {"test_prompts", {"Once upon a time"}},
                                             {"reference_path", "stories260K.gguf"},
                                             {"max_new_tokens", 16}});
  EXPECT_EQ(onnx["runtime"], "onnxruntime");
  EXPECT_EQ(onnx["precision"], "fp32");  // fp32 first when the folder holds several
  // The with-past graph (whatever the export names it), relative to the folder.
  EXPECT_TRUE(onnx["graph"].get<std::string>().starts_with("onnx/")) << onnx["graph"];
  EXPECT_TRUE(fs::exists(root_ / "s_onnx" / onnx["graph"].get<std::string>()));
  // fp32 in ONNX Runtime and F32 in our engine: the same greedy tokens (validation's fp32 bound
  // is all of them), so the same text.
  EXPECT_EQ(onnx["prompts"][0]["tokens"], gguf["prompts"][0]["tokens"]);
  EXPECT_EQ(onnx["prompts"][0]["text"], gguf["prompts"][0]["text"]);
  EXPECT_GT(onnx["prompts"][0]["tokens_per_second"].get<double>(), 0);
  EXPECT_EQ(onnx["passed"], true) << onnx["prompts"][0]["agreement"];
  const ojson int8 = call("test_inference", {{"export_path", "s_onnx"},
                                             {"format_type", "onnx"},
                                             {"test_prompts", {"Once upon a time"}},
                                             {"precision", "int8"},
                                             {"max_new_tokens", 4}});
  EXPECT_TRUE(int8["graph"].get<std::string>().ends_with("_int8.onnx")) << int8["graph"];
  const ojson missing = harness_->call_and_wait(++id_, "test_inference",
                                                {{"export_path", "s_onnx"},
                                                 {"format_type", "onnx"},
                                                 {"test_prompts", {"x"}},
                                                 {"precision", "q4"}});
  EXPECT_NE(tool_text(missing).find("no runnable graph of precision q4 (it has fp32, int8)"),
            std::string::npos)
      << tool_text(missing);
}

TEST_F(McpTools, CreateManifestWritesTheCliManifestAndVerifies) {
  call("export_gguf", {{"model_path", "stories260K.gguf"},
                       {"output_path", "out/s-Q8_0.gguf"},
                       {"quant_type", "Q8_0"}});
  call(
      "export_onnx",
      {{"model_path", "stories260K.gguf"}, {"output_path", "out/s_onnx"}, {"variants", {"plain"}}});
  const ojson s = call("create_manifest", {{"model_info", ojson::object()},
                                           {"output_path", "out/manifests"},
                                           {"export_paths", {"out/s-Q8_0.gguf", "out/s_onnx"}},
                                           {"measure_performance", false}});
  EXPECT_EQ(s["verified"], true);
  ASSERT_EQ(cli("manifest " + q(root_ / "out/s-Q8_0.gguf") + " " + q(root_ / "out/s_onnx") +
                " -o " + q(root_ / "out/manifests_cli")),
            0);
  for (const char* name : {"s-Q8_0.json", "s_onnx.json"}) {
    ojson tool = ojson::parse(read_text(root_ / "out/manifests" / name));
    ojson cli_m = ojson::parse(read_text(root_ / "out/manifests_cli" / name));
    tool.erase("created");
    cli_m.erase("created");
    EXPECT_EQ(tool, cli_m) << name;
  }
  EXPECT_EQ(read_text(root_ / "out/manifests/checksums.txt"),
            read_text(root_ / "out/manifests_cli/checksums.txt"));
  std::string out;
  EXPECT_EQ(cli("verify " + q(root_ / "out/manifests/checksums.txt"), &out), 0) << out;

  // What the caller knows goes in; the speed is measured.
  const ojson m = call("create_manifest", {{"model_info",
                                            {{"model_name", "stories260K-tinystories"},
                                             {"version", "1.0.0"},
                                             {"trained_on", "TinyStories"},
                                             {"target_architectures", {"x86_64"}}}},
                                           {"output_path", "out/manifests2"},
                                           {"export_paths", {"out/s-Q8_0.gguf"}},
                                           {"bench_prompt", 16},
                                           {"bench_gen", 8},
                                           {"bench_repetitions", 2}});
  const ojson written = ojson::parse(read_text(root_ / "out/manifests2/s-Q8_0.json"));
  EXPECT_EQ(written, m["manifests"][0]["manifest"]);
  EXPECT_EQ(written["model_name"], "stories260K-tinystories");
  EXPECT_EQ(written["target_architectures"], ojson::array({"x86_64"}));
  EXPECT_EQ(written["model_info"]["trained_on"], "TinyStories");
  EXPECT_EQ(written["model_info"]["version"], "1.0.0");
  EXPECT_GT(written["performance"]["tokens_per_sec"].get<double>(), 0);
  EXPECT_GT(written["performance"]["prefill_tokens_per_sec"].get<double>(), 0);
  EXPECT_EQ(written["performance"]["measured_with"]["n_gen"], 8);
  EXPECT_EQ(cli("verify " + q(root_ / "out/manifests2/s-Q8_0.json"), &out), 0) << out;
}

TEST_F(McpTools, RunPipelineReportsItsVerdictAndArtifacts) {
  {  // five items of the story task: task accuracy for every row
    std::ifstream in(source_dir() / "tasks/tinystories-next-sentence.txt");
    std::ofstream out(root_ / "task.txt");
    std::string line;
    for (int i = 0; i < 30 && std::getline(in, line); ++i) out << line << '\n';
  }
  const ojson s = call("run_pipeline", {{"model_path", "stories260K.gguf"},
                                        {"output_path", "pipe"},
                                        {"gguf", {"Q8_0"}},
                                        {"onnx", ojson::array()},
                                        {"bench_prompt", 16},
                                        {"bench_gen", 8},
                                        {"bench_repetitions", 1},
                                        {"task_path", "task.txt"}});
  for (const ojson& a : s["artifacts"]) {
    EXPECT_EQ(a["task_items"], 5) << a;
    EXPECT_TRUE(a["task_accuracy"].is_number()) << a;
  }
  EXPECT_EQ(s["passed"], true) << s["problems"];
  ASSERT_EQ(s["artifacts"].size(), 2u);  // the input as baseline, then the Q8_0 GGUF
  EXPECT_EQ(s["artifacts"][0]["baseline"], true);
  EXPECT_EQ(s["artifacts"][1]["path"], "stories260K-Q8_0.gguf");
  EXPECT_EQ(s["artifacts"][1]["valid"], true);
  EXPECT_TRUE(fs::exists(s["report_markdown"].get<std::string>()));
  EXPECT_TRUE(fs::exists(root_ / "pipe" / "manifests" / "checksums.txt"));
  // The GGUF is the one export_gguf (and so `slmkit quantize`) writes.
  call("export_gguf",
       {{"model_path", "stories260K.gguf"}, {"output_path", "q8.gguf"}, {"quant_type", "Q8_0"}});
  EXPECT_EQ(read_bytes(root_ / "pipe" / "stories260K-Q8_0.gguf"), read_bytes(root_ / "q8.gguf"));
}

TEST_F(McpTools, InspectModelIsTheInspectDocument) {
  const ojson s = call("inspect_model", {{"model_path", "stories260K.gguf"}});
  std::string out;
  ASSERT_EQ(cli("inspect " + q(model_) + " --json", &out), 0);
  ojson expected = ojson::parse(out);
  EXPECT_EQ(s, expected);
  EXPECT_EQ(s["parameters"], 260032);
}

}  // namespace
}  // namespace slmkit::testing
