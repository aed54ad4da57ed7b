// GELU as llama.cpp's CPU backend computes it (GGML_GELU_FP16 in ggml-cpu/vec.h): the input is
// rounded to f16 and looked up in a table of f16 results, except that x <= -10 gives 0 and
// x >= 10 gives x. Reproduced here from the same three steps (round, GELU in f32, round), for
// sessions that ask to match llama.cpp rather than to be exact (SessionOptions::llama_cpp_gelu).
#include <algorithm>

#include "kernels/kernels.h"

namespace slmkit::kernels {

void gelu_tanh_f16_table(const float* x, float* y, int64_t n) {
  constexpr int64_t kChunk = 256;
  float tmp[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = std::min(kChunk, n - i0);
    round_to_grid(DType::F16, x + i0, tmp, m);
    gelu_tanh(tmp, tmp, m);
    round_to_grid(DType::F16, tmp, tmp, m);
    for (int64_t i = 0; i < m; ++i) {
      const float v = x[i0 + i];  // read before y (which may be x) is written
      y[i0 + i] = v <= -10.0f ? 0.0f : (v >= 10.0f ? v : tmp[i]);
    }
  }
}

}  // namespace slmkit::kernels
