#include "kernels/weight_types.h"

namespace slmkit::kernels {
namespace {

size_t f32_bytes(int64_t n) {
  return static_cast<size_t>(n) * sizeof(float);
}

void keep_f32(const float* x, int64_t n, void* out) {
  round_to_grid(DType::F32, x, static_cast<float*>(out), n);
}
void round_f16(const float* x, int64_t n, void* out) {
  round_to_grid(DType::F16, x, static_cast<float*>(out), n);
}
void round_bf16(const float* x, int64_t n, void* out) {
  round_to_grid(DType::BF16, x, static_cast<float*>(out), n);
}

// The float types' activations are f32 arrays whatever grid they were rounded onto.
void matmul_float(const MatrixRef& w, const void* act, int64_t act_stride_bytes, int64_t n_tokens,
                  float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  matmul(w, static_cast<const float*>(act), act_stride_bytes / static_cast<int64_t>(sizeof(float)),
         n_tokens, y, y_stride, r0, r1);
}

template <DType T>
void row_to_f32_of(const std::byte* row, float* out, int64_t n) {
  row_to_f32(T, row, out, n);
}

const WeightKernels kTable[] = {
    {DType::F32, DType::F32, f32_bytes, keep_f32, matmul_float, row_to_f32_of<DType::F32>},
    {DType::F16, DType::F16, f32_bytes, round_f16, matmul_float, row_to_f32_of<DType::F16>},
    {DType::BF16, DType::BF16, f32_bytes, round_bf16, matmul_float, row_to_f32_of<DType::BF16>},
};

}  // namespace

const WeightKernels* find_weight_kernels(DType type) {
  for (const WeightKernels& k : kTable) {
    if (k.weight == type) return &k;
  }
  return nullptr;
}

}  // namespace slmkit::kernels
