// run_pipeline: the whole `slmkit pipeline` (every artifact built, validated, benchmarked,
// described, and the report), its verdict and where the report is.
#include <cstdio>

#include <fmt/format.h>

#include "core/fail.h"
#include "mcp/tool.h"
#include "slmkit/pipeline.h"
#include "slmkit/quantize.h"

namespace slmkit::mcp {
namespace fs = std::filesystem;

namespace {

// The pipeline says "[k/n] what" when a step starts and other lines within a step: progress is
// (k - 1) / n at a step's start, creeping within the step without reaching the next one.
class PipelineProgress {
 public:
  explicit PipelineProgress(CallProgress& progress) : progress_(progress) {}
  void line(const std::string& text) {
    int k = 0, n = 0;
    if (std::sscanf(text.c_str(), "[%d/%d]", &k, &n) == 2 && n > 0 && k >= 1 && k <= n) {
      step_start_ = static_cast<double>(k - 1) / n;
      step_size_ = 1.0 / n;
      within_ = 0;
    } else {
      within_ += (1.0 - within_) / 4;  // 1/4, 7/16, ... of the step
    }
    progress_.report(step_start_ + step_size_ * 0.9 * within_, text);
  }

 private:
  CallProgress& progress_;
  double step_start_ = 0, step_size_ = 0, within_ = 0;
};

json optional_number(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

Tool run_pipeline_tool() {
  Tool t;
  t.name = "run_pipeline";
  t.title = "Run the whole export pipeline";
  t.description =
      "From one model, every requested artifact (GGUF types, ONNX precisions), each validated "
      "against the input, benchmarked and described by a manifest, then checksums and a report "
      "(report.md, report.html) in output_path, as `slmkit pipeline`. Artifacts complete from an "
      "earlier run are kept. Returns the verdict, the report paths and one row per artifact.";
  const std::vector<std::string> precisions = {"fp32", "fp16", "int8", "q4", "q4f16"};
  t.input_schema = object_schema(
      {{"model_path",
        string_schema("GGUF file, Hugging Face folder or llama2.c checkpoint, inside a root")},
       {"output_path", string_schema("Output folder (created; earlier complete artifacts kept)")},
       {"gguf", array_schema(enum_schema(quantize_type_names(), "type or preset"),
                             "GGUF types (default [\"F16\", \"Q8_0\", \"Q4_K_M\"]; [] for none)")},
       {"onnx",
        array_schema(enum_schema(precisions, "precision"),
                     "ONNX precisions (default [\"fp32\", \"int8\", \"q4\"]; [] for none)")},
       {"onnx_variants",
        array_schema(enum_schema({"plain", "with_past", "prefill", "decode"}, "variant"),
                     "ONNX graphs per precision (default [\"plain\", \"with_past\"])")},
       {"eval_text_path", string_schema("Text for perplexity, inside a root (default: none)")},
       {"calibration_text_path",
        string_schema("Calibration text of auto: GGUFs and smoothquant, inside a root (default: "
                      "eval_text_path)")},
       {"smoothquant",
        number_schema("SmoothQuant alpha in [0, 1]: every artifact is built from the model "
                      "smoothed on the calibration text (default: none)")},
       {"ppl_ctx", integer_schema(4, 1 << 16, "Perplexity window (default 128)")},
       {"ppl_chunks", integer_schema(1, 1 << 20, "Perplexity windows (default 8)")},
       {"bench_prompt", integer_schema(0, 8192, "Prefill test tokens (default 128)")},
       {"bench_gen", integer_schema(0, 8192, "Decode test tokens (default 32)")},
       {"bench_repetitions", integer_schema(1, 100, "Repetitions (default 3)")},
       {"min_tokens_per_second", number_schema("Decode speed floor of validation (default 10)")},
       {"task_path",
        string_schema("Multiple-choice task file (as `slmkit eval` reads), inside a root: "
                      "accuracy of the baseline and every artifact on the same items (default: "
                      "none). ONNX is scored through ONNX Runtime, about a second per choice "
                      "sequence: set task_items")},
       {"task_name", string_schema("The task's name (default: the file's stem); os_benchmark "
                                   "also fills the manifests' os_benchmark_accuracy")},
       {"task_format", enum_schema({"hellaswag", "winogrande", "mc", "jsonl"},
                                   "task file format (default: from the extension)")},
       {"task_items", integer_schema(0, 1 << 20, "Task items scored (default 0: all)")},
       {"min_accuracy_ratio",
        number_schema("With task_path: an artifact fails validation when its accuracy is below "
                      "this share of the baseline's (default: not judged)")}},
      {"model_path", "output_path"});
  json artifact =
      object_schema({{"name", {{"type", "string"}}},
                     {"format", {{"type", "string"}}},
                     {"precision", {{"type", "string"}}},
                     {"path", {{"type", "string"}}},
                     {"baseline", {{"type", "boolean"}}},
                     {"reused", {{"type", "boolean"}}},
                     {"size_bytes", {{"type", "integer"}}},
                     {"valid", {{"type", "boolean"}}},
                     {"n_checks", {{"type", "integer"}}},
                     {"failed_check", {{"type", "string"}}},
                     {"perplexity", {{"type", {"number", "null"}}}},
                     {"perplexity_note", {{"type", "string"}}},
                     {"kl_divergence", {{"type", {"number", "null"}}}},
                     {"task_accuracy", {{"type", {"number", "null"}}}},
                     {"task_accuracy_error", {{"type", {"number", "null"}}}},
                     {"task_items", {{"type", "integer"}}},
                     {"task_note", {{"type", "string"}}},
                     {"prefill_tokens_per_sec", {{"type", "number"}}},
                     {"decode_tokens_per_sec", {{"type", "number"}}},
                     {"bench_note", {{"type", "string"}}},
                     {"sha256", {{"type", "string"}}},
                     {"manifest", {{"type", "string"}}},
                     {"validation_report", {{"type", "string"}}}},
                    {"name", "format", "precision", "path", "baseline", "valid", "size_bytes"});
  t.output_schema = object_schema(
      {{"passed", {{"type", "boolean"}}},
       {"model_name", {{"type", "string"}}},
       {"architecture", {{"type", "string"}}},
       {"parameters", {{"type", "integer"}}},
       {"output_path", {{"type", "string"}}},
       {"report_markdown", {{"type", "string"}}},
       {"report_html", {{"type", "string"}}},
       {"seconds", {{"type", "number"}}},
       {"problems", array_schema({{"type", "string"}}, "failures outside any one artifact")},
       {"artifacts", array_schema(artifact, "the input (baseline) first, then each artifact")}},
      {"passed", "model_name", "architecture", "parameters", "output_path", "report_markdown",
       "report_html", "seconds", "problems", "artifacts"});
  t.annotations = {{"readOnlyHint", false},
                   {"destructiveHint", false},
                   {"idempotentHint", true},
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    PipelineOptions o;
    o.model = ctx.paths.existing("model_path", arg_string(args, "model_path"));
    o.out = ctx.paths.output("output_path", arg_string(args, "output_path"));
    std::error_code ec;
    if (fs::exists(o.out, ec) && !fs::is_directory(o.out, ec)) {
      fail_invalid("output_path: '{}' exists and is not a folder", arg_string(args, "output_path"));
    }
    if (args.contains("eval_text_path")) {
      o.eval_text = ctx.paths.existing("eval_text_path", arg_string(args, "eval_text_path"));
    }
    if (args.contains("task_path")) {
      o.task = ctx.paths.existing("task_path", arg_string(args, "task_path"));
    }
    if (args.contains("calibration_text_path")) {
      o.calibration_text =
          ctx.paths.existing("calibration_text_path", arg_string(args, "calibration_text_path"));
    }
    if (args.contains("smoothquant")) o.smoothquant = arg_number(args, "smoothquant", 0);
    if (args.contains("task_name")) o.task_name = arg_string(args, "task_name");
    if (args.contains("task_format")) o.task_format = arg_string(args, "task_format");
    o.task_items = arg_int(args, "task_items", o.task_items);
    if (args.contains("min_accuracy_ratio")) {
      o.min_accuracy_ratio = arg_number(args, "min_accuracy_ratio", 0);
    }
    o.gguf = arg_strings(args, "gguf", o.gguf);
    o.onnx = arg_strings(args, "onnx", o.onnx);
    o.onnx_variants = arg_strings(args, "onnx_variants", o.onnx_variants);
    o.ppl_ctx = arg_int(args, "ppl_ctx", o.ppl_ctx);
    o.ppl_chunks = arg_int(args, "ppl_chunks", o.ppl_chunks);
    o.bench_prompt = arg_int(args, "bench_prompt", o.bench_prompt);
    o.bench_gen = arg_int(args, "bench_gen", o.bench_gen);
    o.bench_repetitions = static_cast<int>(arg_int(args, "bench_repetitions", o.bench_repetitions));
    o.min_tokens_per_second = arg_number(args, "min_tokens_per_second", o.min_tokens_per_second);
    o.n_threads = ctx.n_threads;
    o.cancel = ctx.cancel;
    PipelineProgress progress(ctx.progress);
    o.on_progress = [&progress](const std::string& line) { progress.line(line); };
    const PipelineResult result = run_pipeline(o);

    json artifacts = json::array();
    for (const PipelineArtifact& a : result.artifacts) {
      artifacts.push_back({{"name", a.name},
                           {"format", a.format},
                           {"precision", a.precision},
                           {"path", a.path.generic_string()},
                           {"baseline", a.baseline},
                           {"reused", a.reused},
                           {"size_bytes", a.size_bytes},
                           {"valid", a.valid},
                           {"n_checks", a.n_checks},
                           {"failed_check", a.failed_check},
                           {"perplexity", optional_number(a.perplexity)},
                           {"perplexity_note", a.perplexity_note},
                           {"kl_divergence", optional_number(a.kl_divergence)},
                           {"task_accuracy", optional_number(a.task_accuracy)},
                           {"task_accuracy_error", optional_number(a.task_accuracy_error)},
                           {"task_items", a.task_items},
                           {"task_note", a.task_note},
                           {"prefill_tokens_per_sec", a.prefill_tps},
                           {"decode_tokens_per_sec", a.decode_tps},
                           {"bench_note", a.bench_note},
                           {"sha256", a.sha256},
                           {"manifest", a.manifest.generic_string()},
                           {"validation_report", a.validation_report.generic_string()}});
    }
    ToolResult r;
    r.structured = {{"passed", result.passed},
                    {"model_name", result.model_name},
                    {"architecture", result.architecture},
                    {"parameters", result.parameters},
                    {"output_path", o.out.string()},
                    {"report_markdown", (o.out / "report.md").string()},
                    {"report_html", (o.out / "report.html").string()},
                    {"seconds", result.seconds},
                    {"problems", result.problems},
                    {"artifacts", artifacts}};
    r.summary = fmt::format("pipeline {}: {} artifacts in {:.1f} s; report {}",
                            result.passed ? "PASSED" : "FAILED", result.artifacts.size(),
                            result.seconds, (o.out / "report.md").string());
    for (const PipelineArtifact& a : result.artifacts) {
      r.summary += fmt::format("\n{} {}: {}", a.baseline ? "baseline" : "artifact", a.name,
                               a.valid ? "valid" : "FAILED " + a.failed_check);
    }
    for (const std::string& p : result.problems) r.summary += "\n" + p;
    return r;
  };
  return t;
}

}  // namespace

std::vector<Tool> pipeline_tools() {
  return {run_pipeline_tool()};
}

}  // namespace slmkit::mcp
