// create_manifest and inspect_model: the deployment manifest (`slmkit manifest`, plus what the
// caller knows and the measured speed) and the model's description (`slmkit inspect --json`).
#include <fmt/format.h>

#include "core/fail.h"
#include "mcp/tool.h"
#include "slmkit/bench.h"
#include "slmkit/error.h"
#include "slmkit/inspect.h"
#include "slmkit/manifest.h"
#include "slmkit/model.h"

namespace slmkit::mcp {
namespace fs = std::filesystem;

namespace {

// Our engine on a GGUF; ONNX Runtime on each precision of an ONNX export (one block per
// precision when there are several). A backend that cannot run says why instead.
json measure_performance(const fs::path& artifact, const Manifest& m, const BenchOptions& bo) {
  try {
    if (m.format == "gguf") return bench_performance_json(bench_slmkit(artifact, bo));
    // describe_artifact names an ONNX export's precisions "fp32+int8".
    std::vector<std::string> precisions;
    for (size_t start = 0;;) {
      const size_t plus = m.quantization.find('+', start);
      precisions.push_back(m.quantization.substr(start, plus - start));
      if (plus == std::string::npos) break;
      start = plus + 1;
    }
    // A single graph stands for its folder's precision; the folder is what ONNX Runtime loads.
    const fs::path folder = fs::is_directory(artifact) ? artifact
                            : artifact.parent_path().filename() == "onnx"
                                ? artifact.parent_path().parent_path()
                                : artifact.parent_path();
    if (precisions.size() == 1) {
      return bench_performance_json(bench_onnxruntime(folder, precisions.front(), bo));
    }
    json per = json::object();
    for (const std::string& p : precisions) {
      per[p] = bench_performance_json(bench_onnxruntime(folder, p, bo));
    }
    return per;
  } catch (const Error& e) {
    return {{"not_measured", e.what()}};
  }
}

Tool create_manifest_tool() {
  Tool t;
  t.name = "create_manifest";
  t.title = "Write deployment manifests";
  t.description =
      "Describe exported artifacts for deployment: OUTPUT_PATH/NAME.json per artifact (format, "
      "quantization, architecture and shapes, sizes, SHA-256 of every file, measured decode and "
      "prefill speed, and model_info as given) and OUTPUT_PATH/checksums.txt in sha256sum "
      "format, paths relative to OUTPUT_PATH's parent, as `slmkit manifest` writes them; then "
      "re-verifies them as `slmkit verify` does.";
  json info_schema = object_schema(
      {{"model_name", string_schema("Name to publish (default: the model's own)")},
       {"version", string_schema("The model's version (slmkit's own goes to \"version\")")},
       {"trained_on", string_schema("Training data")},
       {"target_architectures",
        array_schema({{"type", "string"}},
                     "CPU / runtime targets (default: x86_64, aarch64 [, wasm for ONNX])", 1)},
       {"description", string_schema("Free text")},
       {"license", string_schema("License of the weights")}},
      {}, true);
  info_schema["description"] =
      "What the caller knows about the model; kept as given under model_info";
  t.input_schema = object_schema(
      {{"model_info", info_schema},
       {"output_path", string_schema("Manifest folder, e.g. OUT/manifests")},
       {"export_paths", array_schema(string_schema("a GGUF file, ONNX folder or .onnx graph"),
                                     "The artifacts to describe", 1)},
       {"measure_performance",
        boolean_schema("Benchmark each artifact (default true; false: as `slmkit manifest`)")},
       {"bench_prompt", integer_schema(0, 8192, "Prefill test tokens (default 128)")},
       {"bench_gen", integer_schema(0, 8192, "Decode test tokens (default 32)")},
       {"bench_repetitions", integer_schema(1, 100, "Repetitions of each test (default 3)")}},
      {"model_info", "output_path", "export_paths"});
  t.output_schema = object_schema(
      {{"manifests",
        array_schema(object_schema({{"manifest_path", {{"type", "string"}}},
                                    {"artifact", {{"type", "string"}}},
                                    {"format", {{"type", "string"}}},
                                    {"quantization", {{"type", "string"}}},
                                    {"checksum", {{"type", "string"}}},
                                    {"size_bytes", {{"type", "integer"}}},
                                    {"n_files", {{"type", "integer"}}},
                                    {"manifest", {{"type", "object"}}}},
                                   {"manifest_path", "artifact", "format", "quantization",
                                    "checksum", "size_bytes", "n_files", "manifest"}),
                     "one per artifact, the written JSON under manifest")},
       {"checksums_path", {{"type", "string"}}},
       {"verified", {{"type", "boolean"}}},
       {"problems", array_schema({{"type", "string"}}, "what verification found wrong")}},
      {"manifests", "checksums_path", "verified", "problems"});
  t.annotations = {{"readOnlyHint", false},
                   {"destructiveHint", false},
                   {"idempotentHint", false},  // "created" and the measured speed change
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    const fs::path dir = ctx.paths.output("output_path", arg_string(args, "output_path"));
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
      fail_invalid("output_path: '{}' exists and is not a folder", arg_string(args, "output_path"));
    }
    std::vector<fs::path> artifacts;
    for (const std::string& a : arg_strings(args, "export_paths")) {
      artifacts.push_back(ctx.paths.existing("export_paths", a));
    }
    const json& info = args.at("model_info");
    const bool measure = arg_bool(args, "measure_performance", true);
    BenchOptions bo;
    bo.n_prompt = arg_int(args, "bench_prompt", 128);
    bo.n_gen = arg_int(args, "bench_gen", 32);
    bo.repetitions = static_cast<int>(arg_int(args, "bench_repetitions", 3));
    bo.n_threads = ctx.n_threads;
    // As `slmkit manifest -o DIR`: paths relative to DIR's parent, the deployment's root.
    const fs::path base = dir.parent_path();

    std::vector<Manifest> manifests;
    const double per = 0.95 / static_cast<double>(artifacts.size());
    for (size_t i = 0; i < artifacts.size(); ++i) {
      const double at = per * static_cast<double>(i);
      ctx.cancel.throw_if_cancelled();
      ctx.progress.report(at, "hash " + artifacts[i].filename().string());
      Manifest m = describe_artifact(artifacts[i], base);
      if (info.contains("model_name")) m.model_name = info["model_name"].get<std::string>();
      if (info.contains("target_architectures")) {
        m.target_architectures = info["target_architectures"].get<std::vector<std::string>>();
      }
      m.model_info = info;
      if (measure) {
        ctx.cancel.throw_if_cancelled();
        ctx.progress.report(at + per / 2, "benchmark " + artifacts[i].filename().string());
        m.performance = measure_performance(artifacts[i], m, bo);
      }
      manifests.push_back(std::move(m));
    }
    // Nothing is written before everything is known, so a cancelled call writes nothing.
    ctx.cancel.throw_if_cancelled();
    ctx.progress.report(0.95, "write manifests");
    ToolResult r;
    json list = json::array();
    for (const Manifest& m : manifests) {
      const fs::path written = write_manifest(m, dir);
      list.push_back({{"manifest_path", written.string()},
                      {"artifact", m.artifact.generic_string()},
                      {"format", m.format},
                      {"quantization", m.quantization},
                      {"checksum", m.checksum},
                      {"size_bytes", m.size_bytes},
                      {"n_files", m.files.size()},
                      {"manifest", m.to_json()}});
    }
    const fs::path sums = write_checksums(manifests, dir);
    json problems = json::array();
    for (const json& entry : list) {
      for (const VerifyProblem& p : verify_manifest(entry["manifest_path"].get<std::string>())) {
        problems.push_back(p.path.string() + ": " + p.what);
      }
    }
    for (const VerifyProblem& p : verify_manifest(sums)) {
      problems.push_back(p.path.string() + ": " + p.what);
    }
    r.structured = {{"manifests", list},
                    {"checksums_path", sums.string()},
                    {"verified", problems.empty()},
                    {"problems", problems}};
    r.summary = fmt::format("wrote {} manifest{} and {}; verify: {}", manifests.size(),
                            manifests.size() == 1 ? "" : "s", sums.string(),
                            problems.empty() ? "OK" : fmt::format("{} problems", problems.size()));
    for (const json& entry : list) {
      r.summary +=
          fmt::format("\n{}: {} {} {}, {} files, {}", entry["manifest_path"].get<std::string>(),
                      entry["format"].get<std::string>(), entry["quantization"].get<std::string>(),
                      entry["checksum"].get<std::string>(), entry["n_files"].get<size_t>(),
                      human_bytes(entry["size_bytes"].get<uint64_t>()));
    }
    return r;
  };
  return t;
}

Tool inspect_model_tool() {
  Tool t;
  t.name = "inspect_model";
  t.title = "Describe a model";
  t.description =
      "What a model is: architecture, parameters, bytes per type, hyper-parameters, tokenizer, "
      "metadata and tensors (the `slmkit inspect --json` document).";
  t.input_schema = object_schema(
      {{"model_path",
        string_schema("GGUF file, Hugging Face folder or llama2.c checkpoint, inside a root")}},
      {"model_path"});
  t.output_schema = object_schema(
      {{"path", {{"type", "string"}}},
       {"format", {{"type", "string"}}},
       {"synthetic", {{"type", "boolean"}}},
       {"architecture", {{"type", "string"}}},
       {"name", {{"type", "string"}}},
       {"parameters", {{"type", "integer"}}},
       {"stored_elements", {{"type", "integer"}}},
       {"tied_copy_elements", {{"type", "integer"}}},
       {"bytes", {{"type", "integer"}}},
       {"bytes_per_type", {{"type", "object"}}},
       {"config", {{"type", "object"}}},
       {"tokenizer", {{"type", {"object", "null"}}}},
       {"metadata", {{"type", {"object", "null"}}}},
       {"tensors", array_schema({{"type", "object"}}, "name, type, shape, bytes")}},
      {"path", "format", "architecture", "name", "parameters", "bytes", "config", "tensors"});
  t.annotations = {{"readOnlyHint", true},
                   {"destructiveHint", false},
                   {"idempotentHint", true},
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    const fs::path path = ctx.paths.existing("model_path", arg_string(args, "model_path"));
    ctx.progress.report(0, "load " + path.filename().string());
    const Model model = load_model(path);
    ToolResult r;
    r.structured = inspect_model(model);
    r.summary = format_inspection(r.structured, false);
    return r;
  };
  return t;
}

}  // namespace

std::vector<Tool> describe_tools() {
  return {create_manifest_tool(), inspect_model_tool()};
}

}  // namespace slmkit::mcp
