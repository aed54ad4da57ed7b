// Thread CPU time of the quantized matmul kernels alone, on tinyllama-1.1b's matrix shapes, for
// one token (decode) and a 128-token batch (prefill), on one thread. CPU time rather than wall
// time so that a machine shared with other jobs still gives comparable numbers.
//
//   build/bin/quant_kernel_bench [TYPE...]   (default Q8_0 Q4_0 Q4_K Q6_K)
// Prints, per type and shape, microseconds per call and GMAC/s, with SLMKIT_ISA honoured;
// SLMKIT_NO_PACK=1 leaves Q4_0 matrices unpacked.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/quant_kernels.h"
#include "quant/quant.h"

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
  if (names.empty()) names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"};
  std::printf("kernels: %s\n", kernels::current_isa().c_str());
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  struct Shape {
    int64_t rows, cols;
  };
  for (const std::string& name : names) {
    const DType type = *dtype_from_name(name);
    const DType act = kernels::quant_activation_type(type);
    for (Shape s : {Shape{2048, 2048}, Shape{5632, 2048}, Shape{2048, 5632}}) {
      std::vector<float> wf(static_cast<size_t>(s.rows * s.cols));
      for (float& v : wf) v = dist(rng);
      const std::vector<std::byte> w = quant::quantize_rows(type, wf, s.cols, 2);
      const int64_t row_bytes = static_cast<int64_t>(w.size()) / s.rows;
      kernels::MatrixRef m{type, w.data(), s.rows, s.cols, row_bytes};
      std::vector<std::byte> packed(kernels::packed_bytes(m));
      if (!packed.empty() && !std::getenv("SLMKIT_NO_PACK")) {
        kernels::pack_matrix(m, packed.data());
        m.packed = packed.data();
      }
      for (int64_t n_tokens : {int64_t{1}, int64_t{128}}) {
        std::vector<float> x(static_cast<size_t>(n_tokens * s.cols));
        for (float& v : x) v = dist(rng);
        const auto act_bytes = static_cast<int64_t>(kernels::quant_activation_bytes(act, s.cols));
        std::vector<std::byte> a(static_cast<size_t>(n_tokens * act_bytes));
        for (int64_t t = 0; t < n_tokens; ++t)
          kernels::quantize_activation(act, x.data() + t * s.cols, s.cols,
                                       a.data() + t * act_bytes);
        std::vector<float> y(static_cast<size_t>(n_tokens * s.rows));
        const int reps = n_tokens == 1 ? 50 : 3;
        double best = 1e9;
        for (int r = 0; r < reps; ++r) {
          const double t0 = thread_seconds();
          kernels::quant_matmul(m, a.data(), act_bytes, n_tokens, y.data(), s.rows, 0, s.rows);
          best = std::min(best, thread_seconds() - t0);
        }
        std::printf("%-5s %5lld x %5lld  tokens %4lld  %10.1f us  %6.2f GMAC/s\n", name.c_str(),
                    static_cast<long long>(s.rows), static_cast<long long>(s.cols),
                    static_cast<long long>(n_tokens), best * 1e6,
                    static_cast<double>(s.rows * s.cols * n_tokens) / best * 1e-9);
      }
    }
  }
  return 0;
}
