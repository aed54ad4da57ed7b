// Prefill and decode tokens/s of slmkit's engine next to llama.cpp's, on the same GGUF files with
// the same number of threads, measured the way llama-bench does: pp<N> clears the KV cache and
// evaluates N random tokens (only the last logits wanted); tg<N> clears it and decodes N tokens
// one at a time. Then a side-by-side table of the medians and their ratio.
//
//   build/bench/engine_bench [--benchmark_filter=REGEX]
//
// Environment: SLMKIT_BENCH_DIR (default /tmp/slmkit-bench) holds tinyllama-1.1b-f16.gguf and
// distilgpt2-f16.gguf, written by `slmkit synth` (done here when missing), and their quantized
// versions <name>-<type>.gguf (quantize_model, done here when missing);
// SLMKIT_BENCH_TYPES (F16,Q8_0,Q4_0,Q4_K_M: weight types or presets), SLMKIT_BENCH_MODELS
// (tinyllama-1.1b,distilgpt2), SLMKIT_BENCH_THREADS (2), SLMKIT_BENCH_PP (128),
// SLMKIT_BENCH_TG (32), SLMKIT_BENCH_REPS (3).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_stats.h"
#include "kernels/kernels.h"
#include "peers/llama_cpp_peer.h"
#include "slmkit/engine.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "slmkit/synth.h"

namespace {

namespace fs = std::filesystem;
using slmkit::peers::LlamaCppContext;
using slmkit::peers::LlamaCppModel;
using slmkit::peers::LlamaCppPeer;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

std::vector<std::string> env_list(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  std::string s = v && *v ? v : fallback;
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

struct BenchModel {
  std::string name;   // "tinyllama-1.1b-Q4_K_M"
  std::string shape;  // "tinyllama-1.1b"
  std::string arch;
  std::string type;  // "F16" or what QuantizeOptions::type takes
  fs::path path;
};

// Median tokens/s of each benchmark, by name.
class MedianCollector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> tokens_per_second;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.aggregate_name == "median") {
        auto it = r.counters.find("tok/s");
        if (it != r.counters.end()) tokens_per_second[r.run_name.function_name] = it->second;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const char* dir_env = std::getenv("SLMKIT_BENCH_DIR");
  const fs::path dir = dir_env && *dir_env ? fs::path(dir_env) : fs::path("/tmp/slmkit-bench");
  const int threads = env_int("SLMKIT_BENCH_THREADS", 2);
  const int n_pp = env_int("SLMKIT_BENCH_PP", 128);
  const int n_tg = env_int("SLMKIT_BENCH_TG", 32);
  const int reps = env_int("SLMKIT_BENCH_REPS", 3);

  const std::map<std::string, std::string> arch_of = {{"tinyllama-1.1b", "llama"},
                                                      {"distilgpt2", "gpt2"}};
  std::vector<BenchModel> models;
  for (const std::string& shape : env_list("SLMKIT_BENCH_MODELS", "tinyllama-1.1b,distilgpt2")) {
    for (const std::string& type : env_list("SLMKIT_BENCH_TYPES", "F16,Q8_0,Q4_0,Q4_K_M")) {
      const fs::path path =
          dir / (type == "F16" ? shape + "-f16.gguf" : shape + "-" + type + ".gguf");
      models.push_back({shape + "-" + type, shape, arch_of.at(shape), type, path});
    }
  }
  fs::create_directories(dir);
  for (const BenchModel& m : models) {
    if (fs::exists(m.path)) continue;
    const fs::path f16 = dir / (m.shape + "-f16.gguf");
    if (!fs::exists(f16)) {
      std::fprintf(stderr, "engine_bench: writing %s\n", f16.c_str());
      slmkit::SynthOptions o;
      o.arch = m.arch;
      o.shape = m.shape;
      o.dtype = slmkit::DType::F16;
      o.tokenizer_dirs = {fs::path(SLMKIT_SOURCE_DIR) / "../shared/fixtures/tokenizers"};
      slmkit::save_model(slmkit::synthesize_model(o), f16, slmkit::ModelFormat::gguf);
    }
    if (m.type == "F16") continue;
    std::fprintf(stderr, "engine_bench: writing %s\n", m.path.c_str());
    slmkit::QuantizeOptions qo;
    qo.type = m.type;
    slmkit::save_model(slmkit::quantize_model(slmkit::load_model(f16), qo), m.path,
                       slmkit::ModelFormat::gguf);
  }
  const bool have_peer = LlamaCppPeer::available();
  if (!have_peer) {
    std::fprintf(stderr, "engine_bench: llama.cpp unavailable (%s); timing slmkit only\n",
                 LlamaCppPeer::unavailable_reason().c_str());
  }
  std::fprintf(stderr, "engine_bench: %d threads, pp%d, tg%d, %d repetitions, kernels: %s\n",
               threads, n_pp, n_tg, reps, slmkit::kernels::current_isa().c_str());

  for (const BenchModel& m : models) {
    auto engine = std::make_shared<slmkit::Engine>(slmkit::load_model(m.path));
    slmkit::SessionOptions so;
    so.n_ctx = n_pp + n_tg + 1;
    so.n_threads = threads;
    auto session = std::make_shared<slmkit::Session>(*engine, so);
    const int32_t bos = engine->config().bos_id;
    const int64_t vocab = engine->config().vocab_size;
    // Touch every weight page once so that neither side pays the first read from disk.
    std::mt19937 warm_rng(1);
    session->eval(slmkit::bench::random_tokens(warm_rng, 4, vocab, bos));

    benchmark::RegisterBenchmark(
        fmt::format("{}/pp{}/slmkit", m.name, n_pp).c_str(),
        [engine, session, n_pp, vocab, bos](benchmark::State& state) {
          std::mt19937 rng(42);
          const auto tokens = slmkit::bench::random_tokens(rng, n_pp, vocab, bos);
          for (auto _ : state) {
            state.SetIterationTime(slmkit::bench::time_prompt_ns(*session, tokens) * 1e-9);
          }
          state.counters["tok/s"] = benchmark::Counter(
              static_cast<double>(n_pp) * static_cast<double>(state.iterations()),
              benchmark::Counter::kIsRate);
        })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(reps)
        ->ReportAggregatesOnly(true);
    benchmark::RegisterBenchmark(
        fmt::format("{}/tg{}/slmkit", m.name, n_tg).c_str(),
        [engine, session, n_tg, vocab, bos](benchmark::State& state) {
          std::mt19937 rng(43);
          const auto tokens = slmkit::bench::random_tokens(rng, n_tg, vocab, bos);
          for (auto _ : state) {
            state.SetIterationTime(slmkit::bench::time_generate_ns(*session, tokens) * 1e-9);
          }
          state.counters["tok/s"] = benchmark::Counter(
              static_cast<double>(n_tg) * static_cast<double>(state.iterations()),
              benchmark::Counter::kIsRate);
        })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(reps)
        ->ReportAggregatesOnly(true);

    if (!have_peer) continue;
    auto peer_model = std::make_shared<LlamaCppModel>(LlamaCppModel::load(m.path));
    slmkit::peers::LlamaCppContextOptions co;
    co.n_ctx = static_cast<uint32_t>(n_pp + n_tg + 1);
    co.n_threads = threads;
    auto peer = std::make_shared<LlamaCppContext>(*peer_model, co);
    for (const bool prompt : {true, false}) {
      const int n = prompt ? n_pp : n_tg;
      benchmark::RegisterBenchmark(
          fmt::format("{}/{}{}/llama.cpp", m.name, prompt ? "pp" : "tg", n).c_str(),
          [peer_model, peer, prompt, n](benchmark::State& state) {
            slmkit::peers::LlamaCppBenchOptions bo;
            bo.reps = 1;
            bo.warmup = false;
            for (auto _ : state) {
              const auto timing = prompt ? peer->bench_prompt(n, bo) : peer->bench_generate(n, bo);
              state.SetIterationTime(static_cast<double>(timing.samples_ns.at(0)) * 1e-9);
            }
            state.counters["tok/s"] =
                benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()),
                                   benchmark::Counter::kIsRate);
          })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1)
          ->Repetitions(reps)
          ->ReportAggregatesOnly(true);
    }
  }

  MedianCollector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\nMedian tokens/s, %d threads, F16 KV cache:\n", threads);
  std::printf("%-24s %-7s %12s %12s %8s\n", "model", "test", "slmkit", "llama.cpp", "ratio");
  for (const BenchModel& m : models) {
    for (const std::string& test : {fmt::format("pp{}", n_pp), fmt::format("tg{}", n_tg)}) {
      const auto& t = reporter.tokens_per_second;
      auto ours = t.find(m.name + "/" + test + "/slmkit");
      auto theirs = t.find(m.name + "/" + test + "/llama.cpp");
      if (ours == t.end()) continue;
      if (theirs == t.end()) {
        std::printf("%-24s %-7s %12.2f %12s %8s\n", m.name.c_str(), test.c_str(), ours->second, "-",
                    "-");
      } else {
        std::printf("%-24s %-7s %12.2f %12.2f %7.2fx\n", m.name.c_str(), test.c_str(), ours->second,
                    theirs->second, ours->second / theirs->second);
      }
    }
  }
  return 0;
}
