// slmkit quantize MODEL -t TYPE|PRESET -o OUT.gguf [--imatrix FILE] [--pure] [--strict]
//                 [--threads N] [--json]
#include <chrono>
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "slmkit/error.h"
#include "slmkit/inspect.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"

namespace slmkit::cli {

void register_quantize(CLI::App& app) {
  struct Args {
    std::string model;
    std::string type;
    std::string output;
    std::string tokenizer;
    std::string json;
    std::string imatrix;
    bool imatrix_best = false;
    bool pure = false;
    bool strict = false;
    bool allow_requantize = false;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  std::string types;
  for (const std::string& n : quantize_type_names()) types += (types.empty() ? "" : ", ") + n;
  CLI::App* sub = app.add_subcommand(
      "quantize", "Quantize a model to a GGUF file (llama.cpp's types and presets, bit-exact)");
  sub->add_option("model", args->model, "GGUF file, Hugging Face folder or llama2.c checkpoint")
      ->required();
  sub->add_option("-t,--type", args->type, "Type or preset: " + types)->required();
  sub->add_option("-o,--output", args->output, "Output GGUF file")->required();
  sub->add_option("--tokenizer", args->tokenizer,
                  "llama2.c tokenizer.bin to pair with a checkpoint");
  sub->add_flag("--pure", args->pure, "Every matrix to the base type (no per-tensor rules)");
  sub->add_flag("--strict", args->strict,
                "Fail instead of using a fallback type where a row does not fit the block size");
  sub->add_flag("--allow-requantize", args->allow_requantize,
                "Accept already-quantized tensors (dequantized first)");
  sub->add_option("--imatrix", args->imatrix,
                  "Importance matrix (slmkit imatrix, or llama-imatrix's .gguf / .dat)");
  sub->add_flag("--imatrix-best", args->imatrix_best,
                "Per row, keep llama.cpp's weighted result or the plain one, whichever has the "
                "smaller imatrix-weighted error (not byte-identical with llama.cpp)");
  sub->add_option("--threads", args->threads, "Threads (0: one per hardware thread)");
  sub->add_option("--json", args->json, "Also write the per-tensor report as JSON to this file");
  add_command(sub, [args] {
    LoadOptions load;
    load.llama2c_tokenizer = args->tokenizer;
    const auto start = std::chrono::steady_clock::now();
    const Model model = load_model(args->model, load);
    QuantizeOptions options;
    options.type = args->type;
    options.pure = args->pure;
    options.strict = args->strict;
    options.allow_requantize = args->allow_requantize;
    options.n_threads = args->threads;
    if (!args->imatrix.empty()) {
      options.imatrix = std::make_shared<const ImportanceMatrix>(read_imatrix(args->imatrix));
      std::fprintf(stderr, "quantize: imatrix %s: %zu entries, %lld chunks\n",
                   args->imatrix.c_str(), options.imatrix->entries.size(),
                   static_cast<long long>(options.imatrix->chunk_count));
    }
    options.imatrix_best_of_both = args->imatrix_best;
    if (args->imatrix_best && !options.imatrix) {
      throw Error(ErrorKind::invalid_input, "--imatrix-best needs --imatrix FILE");
    }
    QuantizeReport report;
    const Model quantized = quantize_model(model, options, &report);
    save_model(quantized, args->output, ModelFormat::gguf);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    for (const TensorQuantization& t : report.tensors) {
      if (t.fallback) {
        std::fprintf(stderr, "quantize: %s: %s -> %s (%s)\n", t.name.c_str(), t.from.c_str(),
                     t.to.c_str(), t.reason.c_str());
      }
    }
    const double mb_in = static_cast<double>(report.bytes_in) / 1e6;
    std::fprintf(stderr,
                 "quantize: wrote %s (%s, %zu tensors, %d fallbacks, %d with imatrix): %s -> %s; "
                 "quantized in "
                 "%.2f s (%.1f MB/s of input), %.2f s in all\n",
                 args->output.c_str(), report.preset.c_str(), report.tensors.size(),
                 report.n_fallback, report.n_imatrix, human_bytes(report.bytes_in).c_str(),
                 human_bytes(report.bytes_out).c_str(), report.seconds,
                 report.seconds > 0 ? mb_in / report.seconds : 0.0, seconds);
    if (!args->json.empty()) {
      nlohmann::ordered_json j = report.to_json();
      j["input"] = args->model;
      j["output"] = args->output;
      std::ofstream out(args->json);
      out << j.dump(2) << "\n";
      if (!out) throw Error(ErrorKind::io, "--json " + args->json + ": cannot write the report");
    }
  });
}

}  // namespace slmkit::cli
