// slmkit quantize MODEL -t TYPE|PRESET -o OUT.gguf [--imatrix FILE] [--pure] [--strict]
//                 [--threads N] [--json] [--smoothquant ALPHA -f CALIB.txt]
// slmkit quantize MODEL -t auto -f CALIB.txt -o OUT.gguf --target-size BYTES | --target-bpw BPW
//                 [--min-decode-tps T | --as-fast-as REF.gguf] [--kernel-cache DIR] [--types LIST]
//                 [--dry-run]
// (-t auto and --smoothquant: [--calib-ctx N] [--calib-chunks N])
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

#include <unistd.h>

#include "commands.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/files.h"
#include "slmkit/inspect.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "slmkit/quantize_auto.h"
#include "slmkit/smoothquant.h"
#include "slmkit/tokenizer.h"

namespace slmkit::cli {
namespace {

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
  std::optional<std::string> smoothquant;
  std::vector<double> dev_outliers;  // {channels, factor}
};

struct AutoArgs {
  std::string calibration;
  uint64_t target_size = 0;
  double target_bpw = 0;
  double min_decode_tps = 0;
  std::string as_fast_as;
  std::string kernel_cache;
  std::vector<std::string> types = default_auto_types();
  int64_t n_ctx = 128;
  int64_t n_chunks = 0;  // 0: the mode's default (4 for -t auto, 16 for --smoothquant)
  bool dry_run = false;
};

// Every combination of options that cannot go together, refused before any work is done.
void check_combinations(const Args& args, const AutoArgs& auto_args) {
  if (args.type == "auto" || args.type == "AUTO") {
    if (args.pure || args.strict || args.imatrix_best)
      throw Error(ErrorKind::invalid_input,
                  "-t auto does not take --pure, --strict or --imatrix-best (yet)");
    if (!args.json.empty())
      throw Error(ErrorKind::invalid_input,
                  "-t auto writes its report to OUT.gguf.mix.json; --json is for presets");
    if (args.smoothquant)
      throw Error(ErrorKind::invalid_input, "-t auto does not take --smoothquant (yet)");
    if (auto_args.calibration.empty())
      throw Error(ErrorKind::invalid_input, "-t auto needs -f CALIB.txt (calibration text)");
    return;
  }
  if (args.smoothquant && auto_args.calibration.empty())
    throw Error(ErrorKind::invalid_input, "--smoothquant needs -f CALIB.txt");
  if (!args.smoothquant && !auto_args.calibration.empty())
    throw Error(ErrorKind::invalid_input, "-f CALIB.txt is for --smoothquant ALPHA");
  if (args.imatrix_best && args.imatrix.empty())
    throw Error(ErrorKind::invalid_input, "--imatrix-best needs --imatrix FILE");
}

void run_auto(const Model& model, const std::string& output, const AutoArgs& a, int threads,
              const std::string& imatrix) {
  QuantizeAutoOptions o;
  if (!imatrix.empty()) o.imatrix = std::make_shared<const ImportanceMatrix>(read_imatrix(imatrix));
  o.calibration_text = read_text_file(a.calibration);
  o.target_size = a.target_size;
  o.target_bpw = a.target_bpw;
  o.min_decode_tps = a.min_decode_tps;
  o.as_fast_as = a.as_fast_as;
  o.types = a.types;
  o.n_ctx = a.n_ctx;
  o.n_chunks = a.n_chunks;
  o.n_threads = threads;
  o.dry_run = a.dry_run;
  if (!a.kernel_cache.empty()) o.costs.cache_dir = a.kernel_cache;
  if (isatty(fileno(stderr))) {
    o.on_progress = [](int64_t done, int64_t total, std::string_view what) {
      std::fprintf(stderr, "\rquantize -t auto: sensitivity %lld/%lld %-40.40s",
                   static_cast<long long>(done), static_cast<long long>(total),
                   std::string(what).c_str());
      if (done == total) std::fprintf(stderr, "\n");
    };
  }
  const QuantizeAutoResult r = quantize_auto(model, o, output);
  const AutoSensitivity& s = r.sensitivity;
  std::printf("%s", r.plan.to_text(s).c_str());
  std::fprintf(stderr,
               "quantize -t auto: %zu tensors x %zu candidates measured in %.1f s on %lld "
               "calibration positions (base PPL %.4f)\n",
               s.tensors.size(), a.types.size(), s.seconds, static_cast<long long>(s.n_scored),
               s.base_ppl);
  if (r.costs_measured) {
    std::fprintf(stderr,
                 "quantize -t auto: kernel costs (%s, %d threads): %lld cells measured in %.1f s, "
                 "%zu in all; cache %s; decode overhead %.3f ms per token\n",
                 r.costs.isa.c_str(), r.costs.n_threads,
                 static_cast<long long>(r.costs.measured_cells), r.costs.seconds,
                 r.costs.cells.size(),
                 r.costs.cache_file.empty() ? "none" : r.costs.cache_file.string().c_str(),
                 s.decode_overhead_seconds * 1e3);
  }
  if (!r.written) return;
  std::fprintf(stderr, "quantize -t auto: wrote %s (%s, %llu bytes) and %s.mix.json\n",
               output.c_str(), r.file_type.c_str(),
               static_cast<unsigned long long>(r.plan.file_bytes), output.c_str());
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto auto_args = std::make_shared<AutoArgs>();
  std::string types;
  for (const std::string& n : quantize_type_names()) types += (types.empty() ? "" : ", ") + n;
  CLI::App* sub = app.add_subcommand(
      "quantize", "Quantize a model to a GGUF file (llama.cpp's types and presets, bit-exact)");
  sub->add_option("model", args->model, "GGUF file, Hugging Face folder or llama2.c checkpoint")
      ->required();
  sub->add_option("-t,--type", args->type,
                  "Type or preset: " + types + "; or auto (per-tensor types by measured KLD)")
      ->required();
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
  sub->add_option("-f,--file,--calib", auto_args->calibration,
                  "Calibration text (-t auto, --smoothquant)");
  sub->add_option("--target-size", auto_args->target_size,
                  "-t auto: the output file's size limit in bytes (met exactly: at most this)");
  sub->add_option("--target-bpw", auto_args->target_bpw,
                  "-t auto: bits per weight of tensor data (as llama.cpp reports BPW)");
  sub->add_option("--min-decode-tps", auto_args->min_decode_tps,
                  "-t auto: decode tokens/s at least (as `slmkit bench` measures tg128), "
                  "predicted from kernel costs measured on this CPU (this thread count) and "
                  "checked by timing the mix; with or without a size budget");
  sub->add_option("--as-fast-as", auto_args->as_fast_as,
                  "-t auto: decode at least as fast as this GGUF file (e.g. the Q4_K_M preset), "
                  "the two timed in turns on this machine; instead of --min-decode-tps");
  sub->add_option("--kernel-cache", auto_args->kernel_cache,
                  "-t auto: folder of the kernel cost cache (default $XDG_CACHE_HOME/slmkit or "
                  "~/.cache/slmkit; - for none)");
  sub->add_option("--types", auto_args->types, "-t auto: candidate types")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--calib-ctx", auto_args->n_ctx, "Tokens per calibration chunk")
      ->capture_default_str();
  sub->add_option("--calib-chunks", auto_args->n_chunks,
                  "At most this many calibration chunks (default: 4 for -t auto, 16 for "
                  "--smoothquant)");
  sub->add_flag("--dry-run", auto_args->dry_run, "-t auto: print the plan, write nothing");
  sub->add_option("--smoothquant", args->smoothquant,
                  "SmoothQuant migration strength ALPHA in [0, 1], or auto (per norm, the alpha "
                  "with the smallest W8A8 output error on calibration): activation outliers "
                  "folded into the weights before quantizing (needs -f CALIB.txt)");
  // Development: a function-preserving copy of the model with outlier channels (test models for
  // SmoothQuant; see add_outlier_channels).
  sub->add_option("--dev-outliers", args->dev_outliers, "CHANNELS FACTOR")->expected(2)->group("");
  add_command(sub, [args, auto_args] {
    check_combinations(*args, *auto_args);
    LoadOptions load;
    load.llama2c_tokenizer = args->tokenizer;
    const auto start = std::chrono::steady_clock::now();
    const std::optional<SmoothQuantOptions> smoothing =
        args->smoothquant ? std::optional(parse_smoothquant(*args->smoothquant)) : std::nullopt;
    Model model = load_model(args->model, load);
    if (args->type == "auto" || args->type == "AUTO") {
      if (auto_args->n_chunks == 0) auto_args->n_chunks = 4;
      return run_auto(model, args->output, *auto_args, args->threads, args->imatrix);
    }
    if (!args->dev_outliers.empty()) {
      const std::vector<int64_t> ch =
          add_outlier_channels(model, static_cast<int>(args->dev_outliers[0]),
                               static_cast<float>(args->dev_outliers[1]));
      std::fprintf(stderr, "quantize: outlier channels x%g:", args->dev_outliers[1]);
      for (int64_t c : ch) std::fprintf(stderr, " %lld", static_cast<long long>(c));
      std::fputs("\n", stderr);
    }
    if (args->smoothquant) {
      SmoothQuantCalibration calibration;
      calibration.n_ctx = auto_args->n_ctx;
      calibration.n_chunks = auto_args->n_chunks > 0 ? auto_args->n_chunks : 16;
      calibration.n_threads = args->threads;
      SmoothQuantResult sq = smooth_with_calibration(model, read_text_file(auto_args->calibration),
                                                     *smoothing, calibration);
      model = std::move(sq.model);
      std::fprintf(stderr, "quantize: %s\n", sq.summary().c_str());
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
    QuantizeReport report;
    // Streamed: one tensor's input and output in memory at a time.
    quantize_model_to_file(model, options, args->output, &report);
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
