// Quantization wall time, slmkit vs llama.cpp, on the same GGUF with the same threads: each run
// reads the input, quantizes every matrix and writes the output (slmkit: load_model +
// quantize_model + save_model, as `slmkit quantize` does; llama.cpp: llama_model_quantize).
//
//   build/bin/quantize_speed_bench [--model FILE] [--types Q8_0,Q4_K_M] [--threads N] [--reps N]
//
// Default model: $SLMKIT_BENCH_DIR/tinyllama-1.1b-f16.gguf (SLMKIT_BENCH_DIR defaults to
// /tmp/slmkit-bench; `slmkit synth --arch llama --shape tinyllama-1.1b --dtype f16` makes it).
// Prints the medians of wall and CPU time (user + system, all threads) for each tool and type;
// on a shared machine the wall time is noisy and the CPU time is the better comparison.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "peers/llama_cpp_peer.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"

namespace {

namespace fs = std::filesystem;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double cpu_seconds() {  // user + system, every thread of this process
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Times {
  std::vector<double> wall, cpu;
};

// On a busy machine the wall time mostly measures the wait for a core; CPU time is the work.
template <typename Fn>
void time_into(Times& t, Fn&& fn) {
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  t.wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  t.cpu.push_back(cpu_seconds() - c0);
}

}  // namespace

int main(int argc, char** argv) {
  const char* dir_env = std::getenv("SLMKIT_BENCH_DIR");
  const fs::path dir = dir_env && *dir_env ? dir_env : "/tmp/slmkit-bench";
  fs::path model_path = dir / "tinyllama-1.1b-f16.gguf";
  std::string types = "Q8_0,Q4_K_M";
  int threads = 2, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model") model_path = argv[i + 1];
    if (a == "--types") types = argv[i + 1];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    if (a == "--reps") reps = std::atoi(argv[i + 1]);
  }
  if (!slmkit::peers::LlamaCppPeer::available()) {
    std::fprintf(stderr, "llama.cpp peer not available: %s\n",
                 slmkit::peers::LlamaCppPeer::unavailable_reason().c_str());
    return 1;
  }
  const fs::path out = fs::temp_directory_path() / "slmkit-quantize-speed.gguf";
  std::printf(
      "| type | slmkit wall (s) | llama.cpp wall (s) | slmkit CPU (s) | llama.cpp CPU (s) | "
      "CPU ratio |\n|---|---|---|---|---|---|\n");
  std::stringstream list(types);
  std::string type;
  while (std::getline(list, type, ',')) {
    Times ours, theirs;
    for (int r = 0; r < reps; ++r) {
      // Alternate the order so neither tool always finds the input in a warmer page cache.
      auto run_ours = [&] {
        time_into(ours, [&] {
          const slmkit::Model m = slmkit::load_model(model_path);
          slmkit::QuantizeOptions q;
          q.type = type;
          q.n_threads = threads;
          slmkit::save_model(slmkit::quantize_model(m, q), out, slmkit::ModelFormat::gguf);
        });
      };
      auto run_theirs = [&] {
        time_into(theirs, [&] {
          slmkit::peers::LlamaCppQuantizeOptions o;
          o.ftype = slmkit::quant::llama_ftype_from_name(type).value();
          o.n_threads = threads;
          slmkit::peers::LlamaCppPeer::quantize(model_path, out, o);
        });
      };
      if (r % 2 == 0) {
        run_ours();
        run_theirs();
      } else {
        run_theirs();
        run_ours();
      }
      std::fprintf(stderr, "%s rep %d: slmkit %.2f s (CPU %.2f), llama.cpp %.2f s (CPU %.2f)\n",
                   type.c_str(), r + 1, ours.wall.back(), ours.cpu.back(), theirs.wall.back(),
                   theirs.cpu.back());
    }
    std::printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", type.c_str(), median(ours.wall),
                median(theirs.wall), median(ours.cpu), median(theirs.cpu),
                median(ours.cpu) / median(theirs.cpu));
  }
  fs::remove(out);
  std::printf("(%s, %d threads, median of %d runs)\n", model_path.c_str(), threads, reps);
  return 0;
}
