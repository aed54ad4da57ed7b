// The engine's numeric kernels. Each has a plain C++ reference (kernels/reference.h) and a SIMD
// version compiled for every Highway target (SSE4, AVX2, AVX-512 and a portable fallback:
// EMU128, or Highway's one-lane HWY_SCALAR under GCC < 12.3) and chosen at run time.
// SLMKIT_ISA=scalar|hwy_scalar|emu128|sse4|avx2|avx3 in the environment (or set_isa()) forces
// one path, so every path can be tested on one machine; "scalar" is the plain references.
//
// Conventions: lengths are element counts, pointers need no alignment, outputs may alias inputs
// exactly (y == x) but must not overlap them partially.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "slmkit/dtype.h"

namespace slmkit::kernels {

// ---- instruction set selection ----------------------------------------------------------------
// "scalar" first, then the Highway targets this build has and this CPU runs, best last.
std::vector<std::string> available_isas();
// One of available_isas(), or "auto" (the best one). Error(invalid_input) names the choices.
void set_isa(std::string_view name);
std::string current_isa();

// ---- matrices ---------------------------------------------------------------------------------
// A row-major [rows, cols] matrix of one storage type; rows may be further apart than their size
// (a view of part of a KV cache, for instance).
struct MatrixRef {
  DType dtype = DType::F32;
  const std::byte* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride_bytes = 0;
  // Optional copy of the rows in a SIMD-friendly interleaved layout (quant_kernels.h:
  // pack_matrix); the rows above stay the source of truth and serve whatever it does not cover.
  const std::byte* packed = nullptr;

  const std::byte* row(int64_t r) const { return data + r * row_stride_bytes; }
};

// sum_i w[i] * x[i] for a row of `type` (F32, F16 or BF16).
float dot(DType type, const std::byte* w, const float* x, int64_t n);

// y[t * y_stride + r] = sum_c W[r, c] * x[t * x_stride + c] for rows r in [r0, r1) and tokens
// t in [0, n_tokens): y = W x for each token, W in F32, F16 or BF16, accumulated in f32.
void matmul(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, int64_t r0, int64_t r1);

// y[t * y_stride + c] = sum_r W[r, c] * x[t * x_stride + r] for columns c in [c0, c1): y = W^T x
// for each token, vectorized along the columns. Suits a short, wide W such as the keys of one
// attention head stored transposed ([head_dim, positions]).
void matmul_transposed(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                       float* y, int64_t y_stride, int64_t c0, int64_t c1);

// One row of `type` (F32, F16, BF16) converted to f32.
void row_to_f32(DType type, const std::byte* row, float* out, int64_t n);

// y = x rounded (to nearest, ties to even) onto the F16 or BF16 grid and kept as f32:
// y[i] == f16_to_f32(f32_to_f16(x[i])) bit for bit.
void round_to_grid(DType grid, const float* x, float* y, int64_t n);

// ---- normalization and softmax ------------------------------------------------------------------
// y = x / sqrt(mean(x^2) + eps) * w  (w may be null: no scale).
void rms_norm(const float* x, const float* w, float eps, float* y, int64_t n);
// y = (x - mean) / sqrt(var + eps) * w + b  (w, b may be null).
void layer_norm(const float* x, const float* w, const float* b, float eps, float* y, int64_t n);
// x = exp(x - max) / sum, in place.
void softmax(float* x, int64_t n);

// ---- position encoding ------------------------------------------------------------------------
// Rotates the first n_dims of each of n_heads heads (head_dim apart) by the angles whose cos/sin
// are cos[i], sin[i] for i < n_dims / 2. neox = false: pairs (x[2i], x[2i+1]); true: pairs
// (x[i], x[i + n_dims/2]).
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_dims, const float* cos,
          const float* sin, bool neox);

// ---- element-wise -----------------------------------------------------------------------------
void gelu_tanh(const float* x, float* y,
               int64_t n);  // 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
void gelu_erf(const float* x, float* y, int64_t n);  // 0.5 x (1 + erf(x / sqrt(2)))
void silu(const float* x, float* y, int64_t n);      // x / (1 + exp(-x))
// gelu_tanh the way llama.cpp's CPU backend evaluates it: through an f16 table (input and
// output rounded to f16; 0 below -10, x above 10). For parity with llama.cpp, not accuracy.
void gelu_tanh_f16_table(const float* x, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void scale(const float* x, float s, float* y, int64_t n);
void softcap(const float* x, float cap, float* y, int64_t n);  // cap * tanh(x / cap)

}  // namespace slmkit::kernels
