// validate_format and test_inference: the report `slmkit validate` writes, and greedy text per
// prompt with the validation's agreement checks against a reference.
#include <fmt/format.h>

#include "core/fail.h"
#include "mcp/tool.h"
#include "slmkit/inference.h"
#include "slmkit/validate.h"

namespace slmkit::mcp {
namespace fs = std::filesystem;

namespace {

json format_type_schema() {
  return enum_schema({"gguf", "onnx"}, "gguf (a .gguf file) or onnx (an export folder or a graph)");
}

const char* kExportPathHelp =
    "The artifact: a GGUF file, an ONNX export folder or one .onnx graph, inside a root";
const char* kReferenceHelp =
    "FP32 reference of the same model (GGUF, Hugging Face folder or llama2.c), inside a root";

// The arguments both tools read alike: export_path (inside a root, of format_type) and the
// optional reference_path (inside a root).
struct ArtifactArgs {
  std::string given;  // export_path as the caller wrote it: the report records it so
  fs::path path;
  std::optional<fs::path> reference;
};

ArtifactArgs artifact_args(const json& args, ToolContext& ctx) {
  ArtifactArgs a;
  a.given = arg_string(args, "export_path");
  a.path = ctx.paths.existing("export_path", a.given);
  artifact_format(a.path, arg_string(args, "format_type"));
  if (args.contains("reference_path")) {
    a.reference = ctx.paths.existing("reference_path", arg_string(args, "reference_path"));
  }
  return a;
}

std::string check_line(const ValidationCheck& c) {
  std::string num;
  if (c.value) num = fmt::format(" {:.4g}", *c.value);
  if (c.bound) num += fmt::format(" {} {:.4g}", c.comparison, *c.bound);
  return fmt::format("{} {}{}: {}", c.passed ? "ok" : "FAIL", c.name, num, c.detail);
}

Tool validate_format_tool() {
  Tool t;
  t.name = "validate_format";
  t.title = "Validate an exported artifact";
  t.description =
      "Check a GGUF file or an ONNX export: format checks on the bytes, then functional checks "
      "that run it (GGUF in slmkit's engine, ONNX in ONNX Runtime) against the FP32 reference: "
      "logits, top-5 and greedy agreement, decode speed. Writes and returns the same report as "
      "`slmkit validate` (REPORT_DIR/NAME_FORMAT_validation.json). passed=false is a result, not "
      "an error.";
  t.input_schema = object_schema(
      {{"export_path", string_schema(kExportPathHelp)},
       {"format_type", format_type_schema()},
       {"reference_path",
        string_schema(std::string(kReferenceHelp) +
                      "; without one the artifact is compared with itself widened to F32")},
       {"report_dir", string_schema("Folder of the report (default: validation_reports)")},
       {"functional", boolean_schema("Run it, not only read it (default true)")},
       {"prompt", {{"type", "string"}, {"description", "Prompt (default \"Once upon a time\")"}}},
       {"n_compare", integer_schema(1, 1024, "Greedy tokens compared (default 32)")},
       {"min_tokens_per_second", number_schema("Decode speed floor (default 10)")}},
      {"export_path", "format_type"});
  t.output_schema = object_schema(
      {{"artifact", {{"type", "string"}}},
       {"format", {{"type", "string"}}},
       {"precision", {{"type", "string"}}},
       {"passed", {{"type", "boolean"}}},
       {"n_checks", {{"type", "integer"}}},
       {"n_failed", {{"type", "integer"}}},
       {"seconds", {{"type", "number"}}},
       {"checks", array_schema(check_schema(), "every check with its number and bound")},
       {"ran_on", object_schema({{"arch", {{"type", "string"}}},
                                 {"isa", {{"type", "string"}}},
                                 {"cpu_isa", {{"type", "string"}}},
                                 {"how", {{"type", "string"}}}},
                                {"arch", "isa", "cpu_isa", "how"})},
       {"report_path", {{"type", "string"}}}},
      {"artifact", "format", "precision", "passed", "n_checks", "n_failed", "seconds", "checks",
       "ran_on", "report_path"});
  t.annotations = {{"readOnlyHint", false},  // it writes its report
                   {"destructiveHint", false},
                   {"idempotentHint", true},
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    const ArtifactArgs a = artifact_args(args, ctx);
    const std::string& given = a.given;
    const fs::path report_dir =
        ctx.paths.output("report_dir", arg_string(args, "report_dir", "validation_reports"));
    ValidateOptions o;
    o.reference = a.reference;
    o.functional = arg_bool(args, "functional", true);
    o.prompt = arg_string(args, "prompt", o.prompt);
    o.n_compare = arg_int(args, "n_compare", o.n_compare);
    o.min_tokens_per_second = arg_number(args, "min_tokens_per_second", o.min_tokens_per_second);
    o.n_threads = ctx.n_threads;
    o.on_progress = ctx.progress.stage(0, 0.95);
    o.cancel = ctx.cancel;
    ValidationReport report = validate_artifact(a.path, o);
    report.artifact = given;  // as `slmkit validate` records the path it was given
    ctx.cancel.throw_if_cancelled();
    const fs::path written = write_validation_report(report, report_dir);

    ToolResult r;
    r.structured = report.to_json();
    r.structured["report_path"] = written.string();
    r.summary = fmt::format("{} ({}, {}): {}, {} checks in {:.2f} s; report {}", given,
                            report.format, report.precision, report.passed() ? "PASS" : "FAIL",
                            report.checks.size(), report.seconds, written.string());
    for (const ValidationCheck& c : report.checks) {
      if (!c.passed) r.summary += "\n" + check_line(c);
    }
    return r;
  };
  return t;
}

Tool test_inference_tool() {
  Tool t;
  t.name = "test_inference";
  t.title = "Run an artifact on prompts";
  t.description =
      "Generate greedily from each prompt with the artifact in its own runtime (GGUF: slmkit's "
      "engine, as `slmkit run --temp 0`; ONNX: ONNX Runtime) and report the text and decode "
      "tokens/s. With reference_path, also the validation's agreement checks on each prompt "
      "(logits max |diff| / range, top-5 overlap, leading greedy tokens equal).";
  t.input_schema = object_schema(
      {{"export_path", string_schema(kExportPathHelp)},
       {"format_type", format_type_schema()},
       {"test_prompts",
        array_schema({{"type", "string"}, {"maxLength", 65536}}, "Prompts, one run each", 1)},
       {"reference_path", string_schema(kReferenceHelp)},
       {"max_new_tokens", integer_schema(1, 4096, "Tokens generated per prompt (default 32)")},
       {"precision", enum_schema({"fp32", "fp16", "int8", "q4", "q4f16"},
                                 "ONNX folder with several precisions: the one to run "
                                 "(default fp32, else the first)")}},
      {"export_path", "format_type", "test_prompts"});
  t.input_schema["properties"]["test_prompts"]["maxItems"] = 64;
  t.output_schema = object_schema(
      {{"artifact", {{"type", "string"}}},
       {"format", {{"type", "string"}}},
       {"precision", {{"type", "string"}}},
       {"runtime", enum_schema({"slmkit", "onnxruntime"}, "what ran it")},
       {"graph", {{"type", "string"}, {"description", "ONNX: the graph that ran"}}},
       {"reference", {{"type", "string"}, {"description", "file name; empty without one"}}},
       {"max_new_tokens", {{"type", "integer"}}},
       {"passed", {{"type", "boolean"}, {"description", "every prompt agrees with the reference"}}},
       {"seconds", {{"type", "number"}}},
       {"prompts",
        array_schema(
            object_schema(
                {{"prompt", {{"type", "string"}}},
                 {"n_prompt_tokens", {{"type", "integer"}}},
                 {"n_generated", {{"type", "integer"}}},
                 {"tokens", array_schema({{"type", "integer"}}, "generated token ids")},
                 {"text", {{"type", "string"}, {"description", "the continuation"}}},
                 {"stop", enum_schema({"end_of_generation", "length"}, "why it stopped")},
                 {"tokens_per_second", {{"type", "number"}}},
                 {"agrees", {{"type", "boolean"}}},
                 {"agreement", array_schema(check_schema(), "checks against the reference")}},
                {"prompt", "n_prompt_tokens", "n_generated", "tokens", "text", "stop",
                 "tokens_per_second", "agrees", "agreement"}),
            "one entry per prompt")}},
      {"artifact", "format", "precision", "runtime", "graph", "reference", "max_new_tokens",
       "passed", "seconds", "prompts"});
  t.annotations = {{"readOnlyHint", true},
                   {"destructiveHint", false},
                   {"idempotentHint", true},
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    const ArtifactArgs a = artifact_args(args, ctx);
    const std::string& given = a.given;
    InferenceOptions o;
    o.reference = a.reference;
    o.max_new_tokens = arg_int(args, "max_new_tokens", o.max_new_tokens);
    o.precision = arg_string(args, "precision");
    o.n_threads = ctx.n_threads;
    o.on_progress = ctx.progress.stage(0, 1.0);
    o.cancel = ctx.cancel;
    InferenceReport report = test_inference(a.path, arg_strings(args, "test_prompts"), o);
    report.artifact = given;

    ToolResult r;
    r.structured = report.to_json();
    r.summary =
        fmt::format("{} ({} {}, {}):", given, report.format, report.precision, report.runtime);
    for (const PromptInference& p : report.prompts) {
      r.summary += fmt::format("\n\"{}\" -> \"{}\" ({} tokens, {:.1f} tokens/s)", p.prompt, p.text,
                               p.tokens.size(), p.tokens_per_second);
      if (!report.reference.empty()) {
        r.summary += p.agrees() ? "; agrees with " + report.reference
                                : "; DISAGREES with " + report.reference;
        for (const ValidationCheck& c : p.agreement) {
          if (!c.passed) r.summary += "\n  " + check_line(c);
        }
      }
    }
    return r;
  };
  return t;
}

}  // namespace

std::vector<Tool> check_tools() {
  return {validate_format_tool(), test_inference_tool()};
}

}  // namespace slmkit::mcp
