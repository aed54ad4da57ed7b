#include "kernels/weight_types.h"

#include "kernels/quant_kernels.h"

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

// Quantized types: activations become blocks of the paired 8-bit type (quant_kernels.h).
template <DType A>
size_t quant_act_bytes(int64_t n) {
  return quant_activation_bytes(A, n);
}
template <DType A>
void quantize_act(const float* x, int64_t n, void* out) {
  quantize_activation(A, x, n, out);
}
void matmul_quant(const MatrixRef& w, const void* act, int64_t act_stride_bytes, int64_t n_tokens,
                  float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  quant_matmul(w, static_cast<const std::byte*>(act), act_stride_bytes, n_tokens, y, y_stride, r0,
               r1);
}
template <DType T>
void quant_row_to_f32_of(const std::byte* row, float* out, int64_t n) {
  quant_row_to_f32(T, row, out, n);
}
template <DType W, DType A>
constexpr WeightKernels quant_row() {
  return {W, A, quant_act_bytes<A>, quantize_act<A>, matmul_quant, quant_row_to_f32_of<W>};
}

const WeightKernels kTable[] = {
    {DType::F32, DType::F32, f32_bytes, keep_f32, matmul_float, row_to_f32_of<DType::F32>},
    {DType::F16, DType::F16, f32_bytes, round_f16, matmul_float, row_to_f32_of<DType::F16>},
    {DType::BF16, DType::BF16, f32_bytes, round_bf16, matmul_float, row_to_f32_of<DType::BF16>},
    quant_row<DType::Q8_0, DType::Q8_0>(),
    quant_row<DType::Q4_0, DType::Q8_0>(),
    quant_row<DType::Q5_0, DType::Q8_0>(),
    quant_row<DType::Q4_1, DType::Q8_1>(),
    quant_row<DType::Q5_1, DType::Q8_1>(),
    quant_row<DType::Q2_K, DType::Q8_K>(),
    quant_row<DType::Q3_K, DType::Q8_K>(),
    quant_row<DType::Q4_K, DType::Q8_K>(),
    quant_row<DType::Q5_K, DType::Q8_K>(),
    quant_row<DType::Q6_K, DType::Q8_K>(),
};

}  // namespace

const WeightKernels* find_weight_kernels(DType type) {
  for (const WeightKernels& k : kTable) {
    if (k.weight == type) return &k;
  }
  return nullptr;
}

}  // namespace slmkit::kernels
