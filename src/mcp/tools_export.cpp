// export_gguf and export_onnx: the CLI's `slmkit quantize` and `slmkit export onnx`, with the
// same library calls and so the same bytes.
#include <fstream>

#include <fmt/format.h>

#include "core/fail.h"
#include "mcp/tool.h"
#include "slmkit/export_onnx.h"
#include "slmkit/inspect.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"

namespace slmkit::mcp {
namespace fs = std::filesystem;

namespace {

bool starts_with_gguf_magic(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::string_view(magic, 4) == "GGUF";
}

bool is_inside(const fs::path& p, const fs::path& folder) {
  const fs::path rel = p.lexically_relative(folder);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

// A tool replaces only what it would write itself: an earlier GGUF, an earlier ONNX export.
void check_gguf_output(const fs::path& out, const fs::path& model, const std::string& given) {
  std::error_code ec;
  if (out == model) {
    fail_invalid("output_path: '{}' is model_path itself; rule: an export never replaces its input",
                 given);
  }
  if (fs::exists(out, ec) && (!fs::is_regular_file(out, ec) || !starts_with_gguf_magic(out))) {
    fail_invalid(
        "output_path: '{}' exists and is not a GGUF file; rule: a tool replaces only a file of "
        "the kind it writes",
        given);
  }
}

namespace {

void check_onnx_output(const fs::path& out, const fs::path& model, const std::string& given) {
  std::error_code ec;
  if (out == model || is_inside(model, out)) {
    fail_invalid(
        "output_path: '{}' holds model_path; rule: an export never replaces its input (the ONNX "
        "folder is replaced as a whole)",
        given);
  }
  if (fs::exists(out, ec) &&
      !(fs::is_directory(out, ec) && fs::is_regular_file(out / "config.json", ec) &&
        fs::is_directory(out / "onnx", ec))) {
    fail_invalid(
        "output_path: '{}' exists and is not an ONNX export folder (config.json + onnx/); rule: "
        "a tool replaces only a folder of the kind it writes",
        given);
  }
}

}  // namespace

void make_parent(const fs::path& out) {
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  if (ec) fail_io("cannot create folder {}: {}", out.parent_path().string(), ec.message());
}

ExportPaths export_paths(const json& args, ToolContext& ctx,
                         void (*check_output)(const fs::path&, const fs::path&,
                                              const std::string&)) {
  const std::string given_out = arg_string(args, "output_path");
  ExportPaths p;
  p.model = ctx.paths.existing("model_path", arg_string(args, "model_path"));
  p.out = ctx.paths.output("output_path", given_out);
  check_output(p.out, p.model, given_out);
  return p;
}

namespace {

const char* kModelPathHelp =
    "Input model: GGUF file, Hugging Face folder (config.json + safetensors) or llama2.c "
    "checkpoint, inside a root";

Tool export_gguf_tool() {
  Tool t;
  t.name = "export_gguf";
  t.title = "Export a GGUF (quantize)";
  t.description =
      "Quantize a model to a GGUF file for llama.cpp and slmkit's engine, bit-exact with "
      "llama-quantize (same as `slmkit quantize`). quant_type is a llama.cpp type or preset. "
      "Returns the GGUF path and what each tensor became.";
  t.input_schema = object_schema(
      {{"model_path", string_schema(kModelPathHelp)},
       {"output_path",
        string_schema("GGUF file to write (an existing GGUF there is replaced, nothing else is)")},
       {"quant_type", enum_schema(quantize_type_names(), "Type or preset, e.g. Q4_K_M, Q8_0, F16")},
       {"pure", boolean_schema("Every matrix to quant_type, no per-tensor rules (default false)")},
       {"allow_requantize",
        boolean_schema("Accept an already-quantized input, dequantized first (default false)")}},
      {"model_path", "output_path", "quant_type"});
  t.output_schema = object_schema(
      {{"gguf_path", {{"type", "string"}}},
       {"quant_type", {{"type", "string"}, {"description", "the preset's canonical name"}}},
       {"file_type", {{"type", "integer"}, {"description", "llama_ftype in general.file_type"}}},
       {"size_bytes", {{"type", "integer"}}},
       {"n_tensors", {{"type", "integer"}}},
       {"n_fallback", {{"type", "integer"}}},
       {"tensor_bytes_in", {{"type", "integer"}}},
       {"tensor_bytes_out", {{"type", "integer"}}},
       {"seconds", {{"type", "number"}}},
       {"fallbacks",
        array_schema(object_schema({{"name", {{"type", "string"}}},
                                    {"from", {{"type", "string"}}},
                                    {"to", {{"type", "string"}}},
                                    {"reason", {{"type", "string"}}}},
                                   {"name", "from", "to", "reason"}),
                     "tensors that took another type than the preset's rule, and why")}},
      {"gguf_path", "quant_type", "file_type", "size_bytes", "n_tensors", "n_fallback",
       "tensor_bytes_in", "tensor_bytes_out", "seconds", "fallbacks"});
  t.annotations = {{"readOnlyHint", false},
                   {"destructiveHint", true},
                   {"idempotentHint", true},
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    const auto [model_path, out] = export_paths(args, ctx, check_gguf_output);
    ctx.progress.report(0, "load " + model_path.filename().string());
    const Model model = load_model(model_path);
    ctx.cancel.throw_if_cancelled();
    QuantizeOptions o;
    o.type = arg_string(args, "quant_type");
    o.pure = arg_bool(args, "pure", false);
    o.allow_requantize = arg_bool(args, "allow_requantize", false);
    o.n_threads = ctx.n_threads;
    o.on_progress = ctx.progress.stage(0.05, 0.9);
    o.cancel = ctx.cancel;
    QuantizeReport report;
    const Model quantized = quantize_model(model, o, &report);
    ctx.cancel.throw_if_cancelled();
    ctx.progress.report(0.9, "write " + out.filename().string());
    make_parent(out);
    save_model(quantized, out, ModelFormat::gguf);

    ToolResult r;
    json fallbacks = json::array();
    for (const TensorQuantization& tq : report.tensors) {
      if (tq.fallback) {
        fallbacks.push_back(
            {{"name", tq.name}, {"from", tq.from}, {"to", tq.to}, {"reason", tq.reason}});
      }
    }
    const uint64_t size = fs::file_size(out);
    r.structured = {{"gguf_path", out.string()},          {"quant_type", report.preset},
                    {"file_type", report.file_type},      {"size_bytes", size},
                    {"n_tensors", report.tensors.size()}, {"n_fallback", report.n_fallback},
                    {"tensor_bytes_in", report.bytes_in}, {"tensor_bytes_out", report.bytes_out},
                    {"seconds", report.seconds},          {"fallbacks", fallbacks}};
    r.summary =
        fmt::format("wrote {} ({}, {} tensors, {} fallbacks): {} of tensors -> {}, file {}",
                    out.string(), report.preset, report.tensors.size(), report.n_fallback,
                    human_bytes(report.bytes_in), human_bytes(report.bytes_out), human_bytes(size));
    return r;
  };
  return t;
}

std::vector<std::string> variant_names() {
  return {"plain", "with_past", "prefill", "decode"};
}
std::vector<std::string> precision_names() {
  return {"fp32", "fp16", "int8", "q4", "q4f16"};
}

Tool export_onnx_tool() {
  Tool t;
  t.name = "export_onnx";
  t.title = "Export an ONNX folder";
  t.description =
      "Export a model to an ONNX folder in the optimum / transformers.js layout (config.json, "
      "tokenizer files, onnx/*.onnx) for ONNX Runtime (same as `slmkit export onnx`). Each "
      "precision gets each variant's graph. Returns the folder and its files.";
  t.input_schema = object_schema(
      {{"model_path", string_schema(kModelPathHelp)},
       {"output_path",
        string_schema(
            "Folder to write (an earlier ONNX export there is replaced, nothing else is)")},
       {"precisions", array_schema(enum_schema(precision_names(), "precision"),
                                   "Weight precisions (default [\"fp32\"])", 1)},
       {"variants", array_schema(enum_schema(variant_names(), "graph variant"),
                                 "Graphs per precision (default: all four)", 1)},
       {"max_length", integer_schema(0, 1 << 20,
                                     "Cache length of prefill/decode (default 0: the context "
                                     "length, at most 2048)")}},
      {"model_path", "output_path"});
  t.output_schema = object_schema(
      {{"onnx_path", {{"type", "string"}}},
       {"files", array_schema(object_schema({{"path", {{"type", "string"}}},
                                             {"bytes", {{"type", "integer"}}}},
                                            {"path", "bytes"}),
                              "every file written, relative to onnx_path")},
       {"n_graphs", {{"type", "integer"}}},
       {"size_bytes", {{"type", "integer"}}},
       {"opset", {{"type", "integer"}}},
       {"ir_version", {{"type", "integer"}}},
       {"seconds", {{"type", "number"}}}},
      {"onnx_path", "files", "n_graphs", "size_bytes", "opset", "ir_version", "seconds"});
  t.annotations = {{"readOnlyHint", false},
                   {"destructiveHint", true},
                   {"idempotentHint", true},
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    const auto [model_path, out] = export_paths(args, ctx, check_onnx_output);
    OnnxExportOptions o;
    o.precisions.clear();
    for (const std::string& p : arg_strings(args, "precisions", {"fp32"})) {
      o.precisions.push_back(parse_onnx_precision(p));
    }
    o.variants.clear();
    for (const std::string& v : arg_strings(args, "variants", variant_names())) {
      o.variants.push_back(parse_onnx_variant(v));
    }
    o.max_length = arg_int(args, "max_length", 0);
    o.on_progress = ctx.progress.stage(0.05, 1.0);
    o.cancel = ctx.cancel;
    ctx.progress.report(0, "load " + model_path.filename().string());
    const Model model = load_model(model_path);
    ctx.cancel.throw_if_cancelled();
    make_parent(out);
    const OnnxExportResult result = export_onnx(model, out, o);

    ToolResult r;
    json files = json::array();
    uint64_t total = 0;
    int64_t graphs = 0;
    for (const OnnxExportedFile& f : result.files) {
      files.push_back({{"path", f.path.generic_string()}, {"bytes", f.bytes}});
      total += f.bytes;
      graphs += f.path.extension() == ".onnx";
    }
    r.structured = {{"onnx_path", out.string()}, {"files", files},
                    {"n_graphs", graphs},        {"size_bytes", total},
                    {"opset", kOnnxOpset},       {"ir_version", kOnnxIrVersion},
                    {"seconds", result.seconds}};
    r.summary =
        fmt::format("wrote {} ({} graphs, {} files, {} in all, opset {}) in {:.1f} s", out.string(),
                    graphs, result.files.size(), human_bytes(total), kOnnxOpset, result.seconds);
    return r;
  };
  return t;
}

}  // namespace

std::vector<Tool> export_tools() {
  return {export_gguf_tool(), export_onnx_tool()};
}

}  // namespace slmkit::mcp
