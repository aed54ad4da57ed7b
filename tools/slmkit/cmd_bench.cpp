// slmkit bench -m MODEL[,MODEL...] [-p 512] [-n 128] [-r 5] [-t THREADS] [-o md|csv|json]
//              [--vs llama.cpp] [--vs ort --onnx DIR[,DIR...] [--ort-precision P]]
//              [--kv-type f16|f32] [--no-warmup] [--bandwidth] [--in-process] [--kv-vs-recompute]
// llama-bench's tests (pp<n_prompt>, tg<n_gen>) for slmkit's engine and, on the same files with
// the same threads, the peers named by --vs, model by model. Each backend runs in a child
// `slmkit bench --backend NAME` process unless --in-process, so each row's peak RSS is its own.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "commands.h"
#include "slmkit/bench.h"
#include "slmkit/error.h"
#include "slmkit/model.h"

namespace slmkit::cli {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

struct Args {
  std::string models;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int repetitions = 5;
  int threads = 0;
  std::string output = "md";
  std::vector<std::string> vs;
  std::string kv_type = "f16";
  bool no_warmup = false;
  bool bandwidth = false;
  bool in_process = false;
  bool kv_vs_recompute = false;
  std::string backend;  // child mode: this backend only, in this process, JSON out
  std::string onnx;     // export folders for --vs ort, one per model
  std::string ort_precision;
};

BenchOptions options_of(const Args& a) {
  BenchOptions o;
  o.n_prompt = a.n_prompt;
  o.n_gen = a.n_gen;
  o.repetitions = a.repetitions;
  o.n_threads = a.threads;
  o.warmup = !a.no_warmup;
  if (a.kv_type == "f16" || a.kv_type == "F16") {
    o.kv_type = DType::F16;
  } else if (a.kv_type == "f32" || a.kv_type == "F32") {
    o.kv_type = DType::F32;
  } else {
    throw Error(ErrorKind::invalid_input, "--kv-type " + a.kv_type + ": expected f16 or f32");
  }
  return o;
}

std::vector<BenchRow> bench_here(BenchBackend backend, const std::string& model,
                                 const std::string& onnx, const std::string& precision,
                                 const BenchOptions& o) {
  switch (backend) {
    case BenchBackend::slmkit:
      return bench_slmkit(model, o);
    case BenchBackend::llama_cpp:
      return bench_llama_cpp(model, o);
    case BenchBackend::onnxruntime: {
      if (onnx.empty()) {
        throw Error(ErrorKind::invalid_input,
                    "--vs ort: give the export of " + model +
                        " with --onnx DIR (`slmkit export onnx MODEL -o DIR --variant with_past`)");
      }
      auto rows = bench_onnxruntime(
          onnx, precision.empty() ? onnx_counterpart_precision(model) : precision, o);
      // Grouped with the GGUF it stands beside, so the ratio table pairs them; the same weights,
      // so the same parameter count.
      const auto n_params = static_cast<uint64_t>(load_model(model).n_parameters());
      for (BenchRow& r : rows) {
        r.model_filename = model;
        r.model_n_params = n_params;
      }
      return rows;
    }
  }
  throw Error(ErrorKind::internal, "bench: unknown backend");
}

std::vector<BenchRow> bench_in_child(BenchBackend backend, const std::string& model,
                                     const std::string& onnx, const Args& a) {
  // Resolved here: in the child's shell /proc/self/exe would name the shell.
  std::vector<std::string> argv = {std::filesystem::read_symlink("/proc/self/exe").string(),
                                   "bench",
                                   "--backend",
                                   bench_backend_name(backend),
                                   "-m",
                                   model,
                                   "-p",
                                   std::to_string(a.n_prompt),
                                   "-n",
                                   std::to_string(a.n_gen),
                                   "-r",
                                   std::to_string(a.repetitions),
                                   "-t",
                                   std::to_string(a.threads),
                                   "--kv-type",
                                   a.kv_type,
                                   "-o",
                                   "json"};
  if (a.no_warmup) argv.push_back("--no-warmup");
  if (!onnx.empty()) argv.insert(argv.end(), {"--onnx", onnx});
  if (!a.ort_precision.empty()) argv.insert(argv.end(), {"--ort-precision", a.ort_precision});
  return run_bench_child(argv);
}

std::string render(const std::vector<BenchRow>& rows, const std::string& output, double bandwidth) {
  if (output == "json") return bench_rows_json(rows).dump(2) + "\n";
  if (output == "csv") return format_bench_csv(rows);
  std::string s = format_bench_markdown(rows);
  const std::string ratios = format_bench_ratios(rows);
  if (!ratios.empty()) s += "\n" + ratios;
  const std::string builds = format_bench_builds(rows);
  if (!builds.empty()) s += "\n" + builds;
  if (bandwidth > 0) {
    s += fmt::format("\nmemory-copy bandwidth: {:.2f} GB/s (read + written)\n", bandwidth * 1e-9);
    for (const BenchRow& r : rows) {
      if (r.n_gen == 0 || r.bytes_per_token == 0) continue;
      const double bound = bandwidth / static_cast<double>(r.bytes_per_token);
      s += fmt::format(
          "{} {}: {:.2f} MiB read per token, bound {:.2f} t/s, measured {:.2f} t/s = {:.0f}% of "
          "the bound\n",
          r.model_type, r.test(), static_cast<double>(r.bytes_per_token) / (1024.0 * 1024.0), bound,
          r.avg_ts, 100.0 * r.avg_ts / bound);
    }
  }
  return s;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Prefill (pp) and decode (tg) speed as llama-bench measures it, beside llama.cpp and ONNX "
      "Runtime");
  sub->add_option("-m,--model", args->models, "Model file(s) or folder(s), comma-separated")
      ->required();
  sub->add_option("-p,--n-prompt", args->n_prompt, "Prompt tokens of the pp test; 0 skips it")
      ->capture_default_str();
  sub->add_option("-n,--n-gen", args->n_gen, "Generated tokens of the tg test; 0 skips it")
      ->capture_default_str();
  sub->add_option("-r,--repetitions", args->repetitions, "Timed runs of each test")
      ->capture_default_str();
  sub->add_option("-t,--threads", args->threads, "Threads; 0 is every core")->capture_default_str();
  sub->add_option("-o,--output", args->output, "md, csv or json")
      ->check(CLI::IsMember({"md", "csv", "json"}))
      ->capture_default_str();
  sub->add_option("--vs", args->vs,
                  "Also run llama.cpp on the same GGUF, or ort on its ONNX export (repeatable)")
      ->check(CLI::IsMember({"llama.cpp", "llama", "ort", "onnxruntime"}));
  sub->add_option("--onnx", args->onnx,
                  "For --vs ort: `slmkit export onnx` folder(s) of the models, comma-separated");
  sub->add_option(
      "--ort-precision", args->ort_precision,
      "For --vs ort: fp32, fp16, int8, w8a8, q4 or q4f16 (default: int8 for a Q8_0 file, q4 "
      "for Q4_0/Q4_1, else fp32)");
  sub->add_option("--kv-type", args->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  sub->add_flag("--no-warmup", args->no_warmup, "Skip the untimed first run of each test");
  sub->add_flag("--bandwidth", args->bandwidth,
                "Measure memory-copy bandwidth and print each tg test against its bound");
  sub->add_flag("--in-process", args->in_process,
                "Run every backend in this process (peak RSS then covers all before it)");
  sub->add_flag("--kv-vs-recompute", args->kv_vs_recompute,
                "Time generating -n tokens after a -p prompt with the KV cache and by recomputing "
                "the prefix for every token (slmkit only)");
  sub->add_option("--backend", args->backend, "Run only this backend, here (used for children)")
      ->check(CLI::IsMember({"slmkit", "llama.cpp", "onnxruntime"}))
      ->group("");
  add_command(sub, [args] {
    const Args& a = *args;
    const BenchOptions o = options_of(a);
    const auto models = split_commas(a.models);
    if (models.empty()) throw Error(ErrorKind::invalid_input, "-m: no model given");
    const auto onnx = split_commas(a.onnx);
    if (!onnx.empty() && onnx.size() != models.size()) {
      throw Error(ErrorKind::invalid_input,
                  fmt::format("--onnx: {} folders for {} models", onnx.size(), models.size()));
    }
    auto onnx_of = [&](size_t i) { return onnx.empty() ? std::string() : onnx[i]; };
    if (a.kv_vs_recompute) {
      for (const auto& m : models) {
        const KvCacheComparison c = bench_kv_cache_vs_recompute(m, o);
        if (a.output == "json") {
          auto j = c.to_json();
          j["model_filename"] = m;
          std::printf("%s\n", j.dump(2).c_str());
        } else {
          std::printf(
              "%s: prompt %lld + %lld generated tokens, %d threads: KV cache %.2f ms, recomputing "
              "the prefix %.2f ms, speedup %.2fx\n",
              m.c_str(), static_cast<long long>(c.n_prompt), static_cast<long long>(c.n_gen),
              c.n_threads, c.cached_ns * 1e-6, c.recompute_ns * 1e-6, c.speedup());
        }
      }
      return;
    }
    if (!a.backend.empty()) {
      std::vector<BenchRow> rows;
      try {
        for (size_t i = 0; i < models.size(); ++i) {
          auto r = bench_here(bench_backend_from_name(a.backend), models[i], onnx_of(i),
                              a.ort_precision, o);
          rows.insert(rows.end(), r.begin(), r.end());
        }
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::unsupported) throw;
        std::fprintf(stderr, "slmkit: error: %s\n", e.what());
        std::fflush(stderr);
        std::exit(3);  // the parent skips an absent backend instead of failing
      }
      std::fputs(render(rows, a.output, 0).c_str(), stdout);
      return;
    }
    std::vector<BenchBackend> backends = {BenchBackend::slmkit};
    for (const auto& v : a.vs) backends.push_back(bench_backend_from_name(v));
    std::vector<BenchRow> rows;
    for (size_t i = 0; i < models.size(); ++i) {
      const std::string& m = models[i];
      for (BenchBackend b : backends) {
        try {
          auto r = a.in_process ? bench_here(b, m, onnx_of(i), a.ort_precision, o)
                                : bench_in_child(b, m, onnx_of(i), a);
          rows.insert(rows.end(), r.begin(), r.end());
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::unsupported || b == BenchBackend::slmkit) throw;
          std::fprintf(stderr, "slmkit bench: skipping %s: %s\n", bench_backend_name(b), e.what());
        }
      }
    }
    const double bandwidth = a.bandwidth ? measure_copy_bandwidth(o.n_threads) : 0.0;
    for (BenchRow& r : rows) r.copy_bandwidth = bandwidth;
    std::fputs(render(rows, a.output, bandwidth).c_str(), stdout);
  });
}

}  // namespace slmkit::cli
