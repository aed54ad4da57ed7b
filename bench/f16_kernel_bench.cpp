// Thread CPU time of the F16 x f32 matmul kernel alone (on the engine's packed layout where it has
// one), one thread, on distilgpt2's decode shapes, tinyllama's 2048 x 2048 and qwen2-0.5b's FFN
// and vocabulary. Repeated calls keep matrices up to a few MB in the last-level cache; the
// vocabulary products (77 and 272 MB) stream from DRAM (on a 2-core Zen 5 VM, 22-43 GB/s from
// one run to the next, against 31-37 GB/s for a plain read of 1-2 GiB on one core).
//
//   build/bin/f16_kernel_bench [F16|BF16|F32...]   (default F16)
// Prints microseconds per call (best of the repetitions), GMAC/s and weight GB/s; SLMKIT_ISA is
// honoured.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "kernels/kernels.h"
#include "kernels/quant_kernels.h"

namespace {

double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace slmkit;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) names.emplace_back(argv[i]);
  if (names.empty()) names = {"F16"};
  std::printf("kernels: %s\n", kernels::current_isa().c_str());
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  struct Shape {
    int64_t rows, cols;
  };
  for (const std::string& name : names) {
    const DType type = *dtype_from_name(name);
    const int64_t elem = type == DType::F32 ? 4 : 2;
    for (Shape s : {Shape{2304, 768}, Shape{3072, 768}, Shape{768, 3072}, Shape{50257, 768},
                    Shape{2048, 2048}, Shape{4864, 896}, Shape{896, 4864}, Shape{151936, 896}}) {
      std::vector<std::byte> w(static_cast<size_t>(s.rows * s.cols * elem));
      for (int64_t i = 0; i < s.rows * s.cols; ++i) {
        const float v = dist(rng) * 0.1f;
        if (type == DType::F32) {
          std::memcpy(w.data() + i * 4, &v, 4);
        } else {
          const uint16_t b = type == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
          std::memcpy(w.data() + i * 2, &b, 2);
        }
      }
      kernels::MatrixRef m{type, w.data(), s.rows, s.cols, s.cols * elem};
      // The engine's load-time layout where the kernels have one (F16: columns of 16 rows).
      std::vector<std::byte> packed(kernels::packed_bytes(m));
      if (!packed.empty()) {
        kernels::pack_matrix(m, packed.data());
        m.packed = packed.data();
      }
      for (int64_t n_tokens : {int64_t{1}, int64_t{32}}) {
        std::vector<float> x(static_cast<size_t>(n_tokens * s.cols));
        for (float& v : x) v = dist(rng);
        std::vector<float> y(static_cast<size_t>(n_tokens * s.rows));
        // Enough repetitions that the best is a call with the weights streamed from memory, not
        // one slowed by another job (the matrices exceed L2, small ones may stay in L3).
        const int reps = n_tokens == 1 ? 40 : 5;
        double best = 1e9;
        for (int r = 0; r < reps; ++r) {
          const double t0 = thread_seconds();
          kernels::matmul(m, x.data(), s.cols, n_tokens, y.data(), s.rows, 0, s.rows);
          best = std::min(best, thread_seconds() - t0);
        }
        const double macs = static_cast<double>(s.rows * s.cols * n_tokens);
        std::printf("%-4s %5lld x %5lld  tokens %3lld  %9.1f us  %6.2f GMAC/s  %6.2f GB/s\n",
                    name.c_str(), static_cast<long long>(s.rows), static_cast<long long>(s.cols),
                    static_cast<long long>(n_tokens), best * 1e6, macs / best * 1e-9,
                    static_cast<double>(w.size()) / best * 1e-9);
      }
    }
  }
  return 0;
}
