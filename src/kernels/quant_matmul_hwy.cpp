// SIMD dot products of quantized weight rows with quantized activation rows.
#include "kernels/isa.h"
#include "kernels/quant_kernels.h"

namespace slmkit::kernels {

float quant_dot(DType w_type, const std::byte* w, const std::byte* act, int64_t n) {
  return ref::quant_dot(w_type, w, act, n);
}

void quant_matmul(const MatrixRef& w, const std::byte* act, int64_t act_stride_bytes,
                  int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  ref::quant_matmul(w, act, act_stride_bytes, n_tokens, y, y_stride, r0, r1);
}

}  // namespace slmkit::kernels
