// How the engine multiplies by a weight matrix of each storage type: one row per type (as in
// ggml's type-traits table), so a new type (the quantized ones) is added by adding its row.
// Each row names the form activations are converted to before the dot products: F32 weights
// take them as they are; F16 and BF16 weights pair with activations rounded onto the same grid,
// exactly as llama.cpp's CPU backend does (its vec_dot_type), so results agree with it; the
// quantized types pair with 8-bit activation blocks (Q8_0, Q8_1, Q8_K; see quant_kernels.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace slmkit::kernels {

struct WeightKernels {
  DType weight;      // storage type of the matrix
  DType activation;  // what activations are converted to (see above)
  // Bytes of one converted activation row of n elements.
  size_t (*activation_bytes)(int64_t n);
  void (*convert_activation)(const float* x, int64_t n, void* out);
  // y[t * y_stride + r] = W[r, :] . act_t for r in [r0, r1), t < n_tokens; act_t starts
  // act_stride_bytes after act_{t-1}.
  void (*matmul)(const MatrixRef& w, const void* act, int64_t act_stride_bytes, int64_t n_tokens,
                 float* y, int64_t y_stride, int64_t r0, int64_t r1);
  void (*row_to_f32)(const std::byte* row, float* out, int64_t n);
};

// nullptr when there are no kernels for `type` (yet).
const WeightKernels* find_weight_kernels(DType type);

}  // namespace slmkit::kernels
