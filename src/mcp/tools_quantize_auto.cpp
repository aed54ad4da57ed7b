// quantize_auto: the CLI's `slmkit quantize -t auto` (per-tensor types chosen by measured
// sensitivity under a size and/or decode-speed budget), through the same library call.
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "mcp/tool.h"
#include "slmkit/files.h"
#include "slmkit/imatrix.h"
#include "slmkit/model.h"
#include "slmkit/quantize_auto.h"

namespace slmkit::mcp {
namespace fs = std::filesystem;

namespace {

Tool quantize_auto_tool() {
  Tool t;
  t.name = "quantize_auto";
  t.title = "Quantize with per-tensor types chosen by measurement";
  t.description =
      "Mixed-precision GGUF (same as `slmkit quantize -t auto`): every weight matrix's type is "
      "chosen from the candidates by its measured effect on the output distribution (KL "
      "divergence on the calibration text) so that the file meets target_size or target_bpw and, "
      "with min_decode_tps, a decode speed predicted from kernel costs measured on this machine. "
      "Writes OUT.gguf and OUT.gguf.mix.json (the choice per tensor) unless dry_run; an "
      "impossible budget is an error naming the smallest reachable size (or fastest speed).";
  t.input_schema = object_schema(
      {{"model_path", string_schema("Input float model (GGUF, Hugging Face folder or llama2.c "
                                    "checkpoint) inside a root")},
       {"output_path",
        string_schema("GGUF file to write (an existing GGUF there is replaced, nothing else is)")},
       {"calibration_path", string_schema("Calibration text file inside a root")},
       {"target_size", integer_schema(1, int64_t{1} << 50, "File size limit in bytes")},
       {"target_bpw", number_schema("Bits per weight of tensor data (as llama.cpp reports BPW); "
                                    "instead of target_size")},
       {"min_decode_tps",
        number_schema("Decode tokens per second at least, predicted on this machine")},
       {"types",
        array_schema(string_schema("a llama.cpp type name"),
                     "Candidate types (default Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_0, F16)", 1)},
       {"calib_ctx", integer_schema(8, 1 << 16, "Tokens per calibration chunk (default 128)")},
       {"calib_chunks", integer_schema(2, 1 << 16, "Calibration chunks (default 4)")},
       {"imatrix_path",
        string_schema("Importance matrix (slmkit imatrix, or llama-imatrix's .gguf / .dat) "
                      "inside a root: every candidate is measured and written with its weights")},
       {"dry_run", boolean_schema("Plan only, write nothing (default false)")}},
      {"model_path", "output_path", "calibration_path"});
  t.output_schema = object_schema(
      {{"gguf_path", {{"type", "string"}, {"description", "empty on a dry run"}}},
       {"mix_json_path", {{"type", "string"}, {"description", "empty on a dry run"}}},
       {"written", {{"type", "boolean"}}},
       {"target_bytes", {{"type", "integer"}}},
       {"file_bytes", {{"type", "integer"}}},
       {"bits_per_weight", {{"type", "number"}}},
       {"sum_kld", {{"type", "number"}, {"description", "the chosen tensors' summed KLDs"}}},
       {"measured_kld", {{"type", "number"}, {"description", "the whole mix, measured"}}},
       {"predicted_decode_tps",
        {{"type", "number"}, {"description", "0 when no speed budget was given"}}},
       {"tensors", array_schema(object_schema({{"name", {{"type", "string"}}},
                                               {"type", {{"type", "string"}}},
                                               {"bytes", {{"type", "integer"}}},
                                               {"kld", {{"type", "number"}}}},
                                              {"name", "type", "bytes", "kld"}),
                                "the type chosen for each quantizable tensor")},
       {"seconds", {{"type", "number"}}}},
      {"gguf_path", "mix_json_path", "written", "target_bytes", "file_bytes", "bits_per_weight",
       "sum_kld", "measured_kld", "predicted_decode_tps", "tensors", "seconds"});
  t.annotations = {{"readOnlyHint", false},
                   {"destructiveHint", true},
                   {"idempotentHint", false},  // the speed budget rests on timings
                   {"openWorldHint", false}};
  t.run = [](const json& args, ToolContext& ctx) {
    const auto start = std::chrono::steady_clock::now();
    const auto [model_path, out] = export_paths(args, ctx, check_gguf_output);
    const fs::path calib =
        ctx.paths.existing("calibration_path", arg_string(args, "calibration_path"));
    QuantizeAutoOptions o;
    o.calibration_text = read_text_file(calib.string());
    if (args.contains("imatrix_path")) {
      o.imatrix = std::make_shared<const ImportanceMatrix>(
          read_imatrix(ctx.paths.existing("imatrix_path", arg_string(args, "imatrix_path"))));
    }
    o.target_size = static_cast<uint64_t>(arg_int(args, "target_size", 0));
    o.target_bpw = arg_number(args, "target_bpw", 0);
    o.min_decode_tps = arg_number(args, "min_decode_tps", 0);
    o.types = arg_strings(args, "types", default_auto_types());
    o.n_ctx = arg_int(args, "calib_ctx", 128);
    o.n_chunks = arg_int(args, "calib_chunks", 4);
    o.dry_run = arg_bool(args, "dry_run", false);
    o.n_threads = ctx.n_threads;
    o.on_progress = ctx.progress.stage(0.05, 0.9);
    o.cancel = ctx.cancel;
    ctx.progress.report(0, "load " + model_path.filename().string());
    const Model model = load_model(model_path);
    ctx.cancel.throw_if_cancelled();
    if (!o.dry_run) make_parent(out);
    const QuantizeAutoResult r = quantize_auto(model, o, out);

    const AutoSensitivity& s = r.sensitivity;
    const nlohmann::ordered_json doc = r.plan.to_json(s);
    json tensors = json::array();
    for (size_t i = 0; i < r.plan.choices.size(); ++i) {
      const AutoCandidate& c = s.tensors[i].candidates[r.plan.choices[i].chosen];
      tensors.push_back(
          {{"name", s.tensors[i].name}, {"type", c.type}, {"bytes", c.bytes}, {"kld", c.kld}});
    }
    ToolResult result;
    const double tps = r.plan.decode_seconds > 0 ? 1.0 / r.plan.decode_seconds : 0.0;
    result.structured = {
        {"gguf_path", r.written ? out.string() : ""},
        {"mix_json_path", r.written ? out.string() + ".mix.json" : ""},
        {"written", r.written},
        {"target_bytes", r.plan.target_bytes},
        {"file_bytes", r.plan.file_bytes},
        {"bits_per_weight", doc["bits_per_weight"].get<double>()},
        {"sum_kld", r.plan.sum_kld},
        {"measured_kld", r.plan.measured_kld},
        {"predicted_decode_tps", tps},
        {"tensors", tensors},
        {"seconds",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
    result.summary = fmt::format(
        "{} {} ({} tensors, {} bytes for a budget of {}; summed KLD {:.6f}, whole mix {:.6f}{})",
        r.written ? "wrote" : "planned (dry run)", out.string(), tensors.size(), r.plan.file_bytes,
        r.plan.target_bytes, r.plan.sum_kld, r.plan.measured_kld,
        tps > 0 ? fmt::format(", predicted {:.1f} tokens/s", tps) : "");
    return result;
  };
  return t;
}

}  // namespace

std::vector<Tool> quantize_auto_tools() {
  return {quantize_auto_tool()};
}

}  // namespace slmkit::mcp
