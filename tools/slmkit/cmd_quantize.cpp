// slmkit quantize MODEL -t TYPE|PRESET -o OUT.gguf [--imatrix FILE] [--pure] [--strict]
//                 [--threads N] [--json] [--smoothquant ALPHA -f CALIB.txt [--calib-ctx N]
//                 [--calib-chunks N]]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

#include "commands.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/files.h"
#include "slmkit/inspect.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "slmkit/smoothquant.h"
#include "slmkit/tokenizer.h"

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
    std::optional<double> smoothquant;
    std::string calib;
    int64_t calib_ctx = 128;
    int64_t calib_chunks = 16;
    std::vector<double> dev_outliers;  // {channels, factor}
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
  sub->add_option("--smoothquant", args->smoothquant,
                  "SmoothQuant migration strength ALPHA in [0, 1]: activation outliers folded "
                  "into the weights before quantizing (needs -f CALIB.txt)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("-f,--calib", args->calib, "Calibration text for --smoothquant");
  sub->add_option("--calib-ctx", args->calib_ctx, "Calibration tokens per chunk")
      ->capture_default_str();
  sub->add_option("--calib-chunks", args->calib_chunks, "At most this many calibration chunks")
      ->capture_default_str();
  // Development: a function-preserving copy of the model with outlier channels (test models for
  // SmoothQuant; see add_outlier_channels).
  sub->add_option("--dev-outliers", args->dev_outliers, "CHANNELS FACTOR")->expected(2)->group("");
  add_command(sub, [args] {
    LoadOptions load;
    load.llama2c_tokenizer = args->tokenizer;
    const auto start = std::chrono::steady_clock::now();
    Model model = load_model(args->model, load);
    if (!args->dev_outliers.empty()) {
      const std::vector<int64_t> ch =
          add_outlier_channels(model, static_cast<int>(args->dev_outliers[0]),
                               static_cast<float>(args->dev_outliers[1]));
      std::fprintf(stderr, "quantize: outlier channels x%g:", args->dev_outliers[1]);
      for (int64_t c : ch) std::fprintf(stderr, " %lld", static_cast<long long>(c));
      std::fputs("\n", stderr);
    }
    if (args->smoothquant) {
      if (args->calib.empty()) {
        throw Error(ErrorKind::invalid_input, "--smoothquant needs -f CALIB.txt");
      }
      const Tokenizer tokenizer(model.vocab);
      const std::vector<int32_t> tokens = tokenizer.encode(read_text_file(args->calib), true);
      ActivationRangeOptions ro;
      ro.n_ctx = args->calib_ctx;
      ro.n_chunks = args->calib_chunks;
      ro.add_bos =
          tokenizer.bos_id() >= 0 && !tokens.empty() && tokens.front() == tokenizer.bos_id();
      ro.bos_id = tokenizer.bos_id();
      ro.n_threads = args->threads;
      ActivationRanges ranges;
      {
        const Engine engine(model);
        ranges = collect_activation_ranges(engine, tokens, ro);
      }
      SmoothQuantOptions so;
      so.alpha = *args->smoothquant;
      SmoothQuantReport sq;
      model = smooth_model(model, ranges, so, &sq);
      float before = 0, after = 0;
      for (const SmoothedGroup& g : sq.groups) {
        before = std::max(before, g.x_ratio_before);
        after = std::max(after, g.x_ratio_after);
      }
      std::fprintf(stderr,
                   "quantize: smoothquant alpha %g on %lld calibration tokens (%lld chunks): %zu "
                   "norms folded, %zu matrices without a norm left as they are; largest channel "
                   "max/median %.1f -> %.1f\n",
                   so.alpha, static_cast<long long>(ranges.n_tokens),
                   static_cast<long long>(ranges.n_chunks), sq.groups.size(), sq.skipped.size(),
                   before, after);
    } else if (!args->calib.empty()) {
      throw Error(ErrorKind::invalid_input, "-f CALIB.txt is for --smoothquant ALPHA");
    }
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
