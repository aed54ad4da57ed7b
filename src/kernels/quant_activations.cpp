// Converting activations to the form each weight type's dot product takes, and quantized rows
// back to f32.
//
// Q8_0 / Q8_1 activations are quantized as llama.cpp's CPU backend does on x86, which is not
// ggml's reference: it scales by 127 / amax (the reference divides by amax / 127) and rounds ties
// to even (the reference's roundf rounds them away from zero). Either is as accurate, but matching
// it keeps the engine's logits within 1e-6 of llama.cpp's where they otherwise drift by 1e-4 and
// a near-tie flips a greedy choice. Q8_K is the reference quantizer on every ggml path, so it is
// the quant registry's. The dequantizers are the registry's.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "core/fail.h"
#include "core/half.h"
#include "kernels/quant_activations.h"
#include "kernels/quant_kernels.h"
#include "kernels/weight_types.h"
#include "quant/blocks.h"
#include "quant/type_traits.h"

namespace slmkit::kernels {
namespace {

using quant::block_q8_0;
using quant::block_q8_1;

// Round to nearest, ties to even (the default rounding mode), for |v| <= 2^22: adding
// 1.5 * 2^23 leaves no fraction bits. Without -ffast-math the compiler keeps both operations.
inline float round_even(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

// ggml x86 quantize_row_q8_0 / q8_1 (AVX2 path), one block: d = amax / 127 stored as f16,
// q = round_even(x * (127 / amax)); Q8_1 also stores s = f16(d * sum(q)).
template <class B>
void quantize_q8_block(const float* x, std::byte* out) {
  constexpr int n = B::kElements;
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int8_t q[n];
  int sum = 0;
  for (int j = 0; j < n; ++j) {
    q[j] = static_cast<int8_t>(round_even(x[j] * id));
    sum += q[j];
  }
  const uint16_t dh = f32_to_f16(d);
  std::memcpy(out + offsetof(B, d), &dh, 2);
  if constexpr (std::is_same_v<B, block_q8_1>) {
    const uint16_t sh = f32_to_f16(d * static_cast<float>(sum));
    std::memcpy(out + offsetof(B, s), &sh, 2);
  }
  std::memcpy(out + offsetof(B, qs), q, n);
}

template <class B>
void quantize_q8_x86(const float* x, int64_t n, void* out) {
  auto* bytes = static_cast<std::byte*>(out);
  for (int64_t i = 0; i < n / B::kElements; ++i) {
    quantize_q8_block<B>(x + i * B::kElements, bytes + i * static_cast<int64_t>(sizeof(B)));
  }
}

// The float types' activations stay f32 arrays, rounded onto the weights' grid.
template <DType Grid>
void round_onto(const float* x, int64_t n, void* out) {
  round_to_grid(Grid, x, static_cast<float*>(out), n);
}

struct ActivationQuantizer {
  DType type;
  ActivationConvertFn convert;
};
constexpr std::array<ActivationQuantizer, 6> kActivationQuantizers = {{
    {DType::F32, round_onto<DType::F32>},
    {DType::F16, round_onto<DType::F16>},
    {DType::BF16, round_onto<DType::BF16>},
    {DType::Q8_0, quantize_q8_0},
    {DType::Q8_1, quantize_q8_1},
    {DType::Q8_K, quantize_q8_k},
}};

}  // namespace

namespace ref {
void quantize_q8_0(const float* x, int64_t n, void* out) {
  quantize_q8_x86<block_q8_0>(x, n, out);
}
void quantize_q8_1(const float* x, int64_t n, void* out) {
  quantize_q8_x86<block_q8_1>(x, n, out);
}
void quantize_q8_k(const float* x, int64_t n, void* out) {
  quant::from_float_any_alignment(*quant::quant_traits(DType::Q8_K), x,
                                  static_cast<std::byte*>(out), n);
}
}  // namespace ref

ActivationConvertFn activation_converter(DType act) {
  for (const ActivationQuantizer& q : kActivationQuantizers) {
    if (q.type == act) return q.convert;
  }
  fail_unsupported("kernels: {} is not an activation type", dtype_name(act));
}

DType quant_activation_type(DType w) {
  const WeightKernels* k = find_weight_kernels(w);
  if (!k || !k->reference_dot) {
    fail_unsupported("kernels: no quantized kernels for weight type {}", dtype_name(w));
  }
  return k->activation;
}

size_t quant_activation_bytes(DType act, int64_t n) {
  const DTypeTraits& t = traits(act);
  return static_cast<size_t>(n / t.block_size) * t.block_bytes;
}

void quantize_activation(DType act, const float* x, int64_t n, void* out) {
  activation_converter(act)(x, n, out);
}

void quant_row_to_f32(DType type, const std::byte* row, float* out, int64_t n) {
  const quant::QuantTraits* t = quant::quant_traits(type);
  if (!t) fail_unsupported("kernels: cannot convert weight type {} to f32", dtype_name(type));
  quant::to_float_any_alignment(*t, row, out, n);
}

}  // namespace slmkit::kernels
