#include "kernels/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "core/fail.h"
#include "core/half.h"

namespace slmkit::kernels::ref {
namespace {

// Element i of a row of `type`; rows need no alignment, so every load goes through memcpy.
inline float load(DType type, const std::byte* row, int64_t i) {
  switch (type) {
    case DType::F32: {
      float v;
      std::memcpy(&v, row + 4 * i, 4);
      return v;
    }
    case DType::F16: {
      uint16_t h;
      std::memcpy(&h, row + 2 * i, 2);
      return f16_to_f32(h);
    }
    case DType::BF16: {
      uint16_t h;
      std::memcpy(&h, row + 2 * i, 2);
      return bf16_to_f32(h);
    }
    default:
      fail_unsupported("kernels: no float kernel for weight type {}", dtype_name(type));
  }
}

}  // namespace

float dot(DType type, const std::byte* w, const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(load(type, w, i)) * x[i];
  return static_cast<float>(sum);
}

void matmul(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, int64_t r0, int64_t r1) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      y[t * y_stride + r] = dot(w.dtype, w.row(r), x + t * x_stride, w.cols);
    }
  }
}

void matmul_transposed(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                       float* y, int64_t y_stride, int64_t c0, int64_t c1) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t c = c0; c < c1; ++c) {
      double sum = 0.0;
      for (int64_t r = 0; r < w.rows; ++r) {
        sum += static_cast<double>(load(w.dtype, w.row(r), c)) * x[t * x_stride + r];
      }
      y[t * y_stride + c] = static_cast<float>(sum);
    }
  }
}

void row_to_f32(DType type, const std::byte* row, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = load(type, row, i);
}

void round_to_grid(DType grid, const float* x, float* y, int64_t n) {
  if (grid == DType::F16) {
    for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(f32_to_f16(x[i]));
  } else if (grid == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(f32_to_bf16(x[i]));
  } else if (grid == DType::F32) {
    if (y != x) std::memmove(y, x, static_cast<size_t>(n) * sizeof(float));
  } else {
    fail_unsupported("kernels: cannot round activations onto the {} grid", dtype_name(grid));
  }
}

void rms_norm(const float* x, const float* w, float eps, float* y, int64_t n) {
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const double inv = 1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i] * inv;
    y[i] = static_cast<float>(w ? v * w[i] : v);
  }
}

void layer_norm(const float* x, const float* w, const float* b, float eps, float* y, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += (x[i] - mean) * (x[i] - mean);
  const double inv = 1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) {
    double v = (x[i] - mean) * inv;
    if (w) v *= w[i];
    if (b) v += b[i];
    y[i] = static_cast<float>(v);
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - max);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(std::exp(static_cast<double>(x[i]) - max) / sum);
  }
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_dims, const float* cos,
          const float* sin, bool neox) {
  const int64_t half = n_dims / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const int64_t i0 = neox ? i : 2 * i;
      const int64_t i1 = neox ? i + half : 2 * i + 1;
      const double a = v[i0];
      const double b = v[i1];
      v[i0] = static_cast<float>(a * cos[i] - b * sin[i]);
      v[i1] = static_cast<float>(a * sin[i] + b * cos[i]);
    }
  }
}

void gelu_tanh(const float* x, float* y, int64_t n) {
  const double k = std::sqrt(2.0 / std::numbers::pi);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
  }
}

void gelu_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    // erfc keeps its relative accuracy in the negative tail, where 1 + erf(v) cancels.
    y[i] = static_cast<float>(0.5 * v * std::erfc(-v / std::sqrt(2.0)));
  }
}

void silu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(v / (1.0 + std::exp(-v)));
  }
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void scale(const float* x, float s, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
}

void softcap(const float* x, float cap, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>(cap * std::tanh(static_cast<double>(x[i]) / cap));
  }
}

}  // namespace slmkit::kernels::ref
