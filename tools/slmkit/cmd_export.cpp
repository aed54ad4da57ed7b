// slmkit export onnx MODEL -o DIR [--variant plain,with_past,prefill,decode]
//                                 [--precision fp32,fp16,int8,w8a8] [--int8-per-tensor]
//                                 [--int8-weights u8|s8|s8_reduced] [--int8-reduce-range]
//                                 [--max-length N] [--no-check]
//                                 [--smoothquant ALPHA] [-f CALIB.txt [--calib-ctx N]
//                                 [--calib-chunks N]]
// -f is needed by --smoothquant and by w8a8 (its static activation scales); both use the same
// calibration chunks, the scales taken on the smoothed model.
#include <algorithm>
#include <cstdio>
#include <optional>

#include "commands.h"
#include "slmkit/error.h"
#include "slmkit/export_onnx.h"
#include "slmkit/files.h"
#include "slmkit/inspect.h"
#include "slmkit/smoothquant.h"

namespace slmkit::cli {

void register_export(CLI::App& app) {
  struct Args {
    std::string model;
    std::string output;
    std::vector<std::string> variants;
    std::vector<std::string> precisions;
    int64_t max_length = 0;
    bool no_check = false;
    bool per_tensor = false;
    bool reduce_range = false;
    std::string int8_weights = "u8";
    uint64_t external_min_bytes = 0;
    int64_t q4_block = 32;
    bool q4_zero_points = false;
    int64_t q4_accuracy = 0;
    bool q4_embedding = false;
    std::optional<std::string> smoothquant;
    std::string calibration;
    int64_t calib_ctx = 128;
    int64_t calib_chunks = 16;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("export", "Export a model to another runtime's format");
  sub->require_subcommand(1);
  CLI::App* onnx = sub->add_subcommand(
      "onnx", "Write an ONNX folder (optimum / transformers.js layout) for ONNX Runtime");
  onnx->add_option("model", args->model, "GGUF file, Hugging Face folder or llama2.c checkpoint")
      ->required();
  onnx->add_option("-o,--output", args->output, "Output folder")->required();
  onnx->add_option("--variant", args->variants, "plain, with_past, prefill, decode (default: all)")
      ->delimiter(',');
  onnx->add_option("--precision", args->precisions,
                   "fp32, fp16, int8, q4, q4f16, w8a8 (int8 with static activation scales from "
                   "-f; default: fp32)")
      ->delimiter(',');
  onnx->add_option("--max-length", args->max_length,
                   "Cache length of prefill/decode (default: context length, at most 2048)");
  onnx->add_flag("--int8-per-tensor", args->per_tensor,
                 "int8: one weight scale per matrix (default: per output channel)");
  onnx->add_option("--int8-weights", args->int8_weights,
                   "int8: u8 (zero point 128; exact on every CPU), s8 (fast with VNNI, saturates "
                   "on x86 without it) or s8_reduced (7-bit, never saturates); see docs/onnx.md")
      ->capture_default_str();
  onnx->add_flag("--int8-reduce-range", args->reduce_range,
                 "int8: --int8-weights s8_reduced, as quantize_dynamic's reduce_range");
  onnx->add_option("--external-data-min-bytes", args->external_min_bytes,
                   "Put initializers of at least this size in NAME.onnx_data (default: only "
                   "when a graph would pass protobuf's 2 GiB limit)");
  onnx->add_option("--q4-block-size", args->q4_block, "q4: 32, 64 or 128")->capture_default_str();
  onnx->add_flag("--q4-zero-points", args->q4_zero_points,
                 "q4: asymmetric blocks with 4-bit zero points (default: symmetric)");
  onnx->add_flag(
      "--q4-embedding", args->q4_embedding,
      "q4/q4f16: also the token embedding (GatherBlockQuantized; a tied head shares it)");
  onnx->add_option("--q4-accuracy-level", args->q4_accuracy, "q4: MatMulNBits accuracy_level 0-4")
      ->capture_default_str();
  onnx->add_flag("--no-check", args->no_check, "Skip ONNX's checker and shape inference");
  onnx->add_option("--smoothquant", args->smoothquant,
                   "SmoothQuant with this alpha in [0, 1], or auto, before export (needs -f; "
                   "docs/quantization.md): helps int8 on models with outlier channels");
  onnx->add_option("-f,--file,--calib", args->calibration,
                   "Calibration text (--smoothquant, w8a8)");
  onnx->add_option("--calib-ctx", args->calib_ctx, "Tokens per calibration chunk")
      ->capture_default_str();
  onnx->add_option("--calib-chunks", args->calib_chunks, "At most this many calibration chunks")
      ->capture_default_str();
  add_command(sub, [args, onnx] {
    if (!onnx->parsed()) return;
    OnnxExportOptions o;
    if (!args->variants.empty()) {
      o.variants.clear();
      for (const std::string& v : args->variants) o.variants.push_back(parse_onnx_variant(v));
    }
    if (!args->precisions.empty()) {
      o.precisions.clear();
      for (const std::string& p : args->precisions) o.precisions.push_back(parse_onnx_precision(p));
    }
    o.max_length = args->max_length;
    o.check = !args->no_check;
    o.int8_per_channel = !args->per_tensor;
    o.int8_weights = args->reduce_range ? OnnxInt8Weights::s8_reduced
                                        : parse_onnx_int8_weights(args->int8_weights);
    o.external_data_min_bytes = args->external_min_bytes;
    o.q4_block_size = args->q4_block;
    o.q4_symmetric = !args->q4_zero_points;
    o.q4_accuracy_level = args->q4_accuracy;
    o.q4_embedding = args->q4_embedding;
    const bool w8a8 = std::find(o.precisions.begin(), o.precisions.end(), OnnxPrecision::w8a8) !=
                      o.precisions.end();
    if ((args->smoothquant.has_value() || w8a8) != !args->calibration.empty()) {
      throw Error(ErrorKind::invalid_input,
                  args->calibration.empty()
                      ? (w8a8 ? "--precision w8a8 needs -f CALIB.txt (its activation scales)"
                              : "--smoothquant needs -f CALIB.txt")
                      : "-f CALIB.txt is for --smoothquant ALPHA or --precision w8a8");
    }
    const std::optional<SmoothQuantOptions> smoothing =
        args->smoothquant ? std::optional(parse_smoothquant(*args->smoothquant)) : std::nullopt;
    Model model = load_model(args->model);
    SmoothQuantCalibration calibration;
    calibration.n_ctx = args->calib_ctx;
    calibration.n_chunks = args->calib_chunks;
    const std::string calibration_text =
        args->calibration.empty() ? std::string() : read_text_file(args->calibration);
    if (smoothing) {
      SmoothQuantResult sq =
          smooth_with_calibration(model, calibration_text, *smoothing, calibration);
      model = std::move(sq.model);
      std::fprintf(stderr, "export onnx: %s\n", sq.summary().c_str());
    }
    if (w8a8) {
      o.w8a8_input_max = calibrate_input_max(model, calibration_text, calibration);
      std::fprintf(stderr, "export onnx: w8a8 activation scales of %zu matrices from %s\n",
                   o.w8a8_input_max.size(), args->calibration.c_str());
    }
    const OnnxExportResult r = export_onnx(model, args->output, o);
    size_t graphs = 0;
    uint64_t total = 0;
    for (const OnnxExportedFile& f : r.files) {
      std::printf("%-32s %12s\n", f.path.string().c_str(), human_bytes(f.bytes).c_str());
      graphs += f.path.extension() == ".onnx";
      total += f.bytes;
    }
    std::fprintf(
        stderr, "export onnx: wrote %s (%zu graphs, %s in all, opset %lld, IR %lld) in %.1f s\n",
        args->output.c_str(), graphs, human_bytes(total).c_str(),
        static_cast<long long>(kOnnxOpset), static_cast<long long>(kOnnxIrVersion), r.seconds);
  });
}

}  // namespace slmkit::cli
