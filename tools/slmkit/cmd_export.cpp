// slmkit export onnx MODEL -o DIR [--variant plain,with_past,prefill,decode]
//                                 [--precision fp32,fp16] [--max-length N] [--no-check]
#include <cstdio>

#include "commands.h"
#include "slmkit/error.h"
#include "slmkit/export_onnx.h"
#include "slmkit/inspect.h"

namespace slmkit::cli {

void register_export(CLI::App& app) {
  struct Args {
    std::string model;
    std::string output;
    std::vector<std::string> variants;
    std::vector<std::string> precisions;
    int64_t max_length = 0;
    bool no_check = false;
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
  onnx->add_option("--precision", args->precisions, "fp32, fp16 (default: fp32)")->delimiter(',');
  onnx->add_option("--max-length", args->max_length,
                   "Cache length of prefill/decode (default: context length, at most 2048)");
  onnx->add_flag("--no-check", args->no_check, "Skip ONNX's checker and shape inference");
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
    const Model model = load_model(args->model);
    const OnnxExportResult r = export_onnx(model, args->output, o);
    for (const OnnxExportedFile& f : r.files) {
      std::printf("%-32s %12s\n", f.path.string().c_str(), human_bytes(f.bytes).c_str());
    }
    std::fprintf(stderr, "export onnx: wrote %s (%zu graphs, opset %lld, IR %lld) in %.1f s\n",
                 args->output.c_str(), r.files.size(), static_cast<long long>(kOnnxOpset),
                 static_cast<long long>(kOnnxIrVersion), r.seconds);
  });
}

}  // namespace slmkit::cli
