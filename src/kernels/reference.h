// Plain C++ twins of every kernel in kernels.h: the algorithmic reference the SIMD versions are
// tested against, and the "scalar" ISA. Sums are accumulated in double and transcendental
// functions come from <cmath>, so these are as accurate as f32 outputs allow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace slmkit::kernels::ref {

float dot(DType type, const std::byte* w, const float* x, int64_t n);
void matmul(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, int64_t r0, int64_t r1);
void matmul_transposed(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                       float* y, int64_t y_stride, int64_t c0, int64_t c1);
void row_to_f32(DType type, const std::byte* row, float* out, int64_t n);
void round_to_grid(DType grid, const float* x, float* y, int64_t n);

void rms_norm(const float* x, const float* w, float eps, float* y, int64_t n);
void layer_norm(const float* x, const float* w, const float* b, float eps, float* y, int64_t n);
void softmax(float* x, int64_t n);
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_dims, const float* cos,
          const float* sin, bool neox);

void gelu_tanh(const float* x, float* y, int64_t n);
void gelu_erf(const float* x, float* y, int64_t n);
void silu(const float* x, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void scale(const float* x, float s, float* y, int64_t n);
void softcap(const float* x, float cap, float* y, int64_t n);

}  // namespace slmkit::kernels::ref
