// Which activation blocks each quantized weight type pairs with, converting activations to them,
// and quantized rows back to f32.
//
// Activations are quantized as llama.cpp's CPU backend does on x86, which is not ggml's reference
// for Q8_0 / Q8_1: it scales by 127 / amax (the reference divides by amax / 127) and rounds ties
// to even (the reference's roundf rounds them away from zero). Either is as accurate, but matching
// it keeps the engine's logits within 1e-6 of llama.cpp's where they otherwise drift by 1e-4 and
// a near-tie flips a greedy choice. Q8_K is the reference quantizer on every ggml path. The
// dequantizers are the quant module's.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"

#include "core/fail.h"
#include "kernels/quant_kernels.h"
#include "quant/rows.h"

namespace slmkit::kernels {

using namespace slmkit::quant;

bool is_quantized_weight(DType w) {
  switch (w) {
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::Q8_0:
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

DType quant_activation_type(DType w) {
  switch (w) {
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0:
      return DType::Q8_0;
    case DType::Q4_1:
    case DType::Q5_1:
      return DType::Q8_1;
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return DType::Q8_K;
    default:
      fail_unsupported("kernels: no quantized kernels for weight type {}", dtype_name(w));
  }
}

size_t quant_activation_bytes(DType act, int64_t n) {
  const DTypeTraits& t = traits(act);
  return static_cast<size_t>(n / t.block_size) * t.block_bytes;
}

namespace {

// Round to nearest, ties to even (the default rounding mode), for |v| <= 2^22: adding
// 1.5 * 2^23 leaves no fraction bits. Without -ffast-math the compiler keeps both operations.
inline float round_even(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

// ggml x86 quantize_row_q8_0 / q8_1 (AVX2 path), one block: d = amax / 127 stored as f16,
// q = round_even(x * (127 / amax)); Q8_1 also stores s = f16(d * sum(q)).
template <bool kWithSum>
void quantize_q8_block(const float* x, std::byte* out) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int8_t q[kQK];
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    q[j] = static_cast<int8_t>(round_even(x[j] * id));
    sum += q[j];
  }
  const uint16_t dh = f32_to_f16(d);
  std::memcpy(out, &dh, 2);
  if constexpr (kWithSum) {
    const uint16_t sh = f32_to_f16(d * static_cast<float>(sum));
    std::memcpy(out + 2, &sh, 2);
    std::memcpy(out + 4, q, kQK);
  } else {
    std::memcpy(out + 2, q, kQK);
  }
}

}  // namespace

void quantize_activation(DType act, const float* x, int64_t n, void* out) {
  auto* bytes = static_cast<std::byte*>(out);
  if (act == DType::Q8_0 || act == DType::Q8_1) {
    const bool with_sum = act == DType::Q8_1;
    const int64_t block_bytes = with_sum ? 36 : 34;
    for (int64_t i = 0; i < n / kQK; ++i) {
      if (with_sum) {
        quantize_q8_block<true>(x + i * kQK, bytes + i * block_bytes);
      } else {
        quantize_q8_block<false>(x + i * kQK, bytes + i * block_bytes);
      }
    }
    return;
  }
  // The quantizers write whole structs; `out` may be unaligned (a test's odd offset), so go
  // through an aligned bounce buffer one block at a time in that case.
  auto run = [&](auto quantize, auto block_tag) {
    using B = decltype(block_tag);
    const int64_t qk = traits(act).block_size;
    if (reinterpret_cast<uintptr_t>(out) % alignof(B) == 0) {
      quantize(x, static_cast<B*>(out), n);
      return;
    }
    auto* dst = static_cast<std::byte*>(out);
    for (int64_t i = 0; i < n / qk; ++i) {
      B b;
      quantize(x + i * qk, &b, qk);
      std::memcpy(dst + i * static_cast<int64_t>(sizeof(B)), &b, sizeof(B));
    }
  };
  switch (act) {
    case DType::Q8_0:
      return run(quantize_row_q8_0, block_q8_0{});
    case DType::Q8_1:
      return run(quantize_row_q8_1, block_q8_1{});
    case DType::Q8_K:
      return run(quantize_row_q8_k, block_q8_k{});
    default:
      fail_unsupported("kernels: {} is not an activation block type", dtype_name(act));
  }
}

void quant_row_to_f32(DType type, const std::byte* row, float* out, int64_t n) {
  auto run = [&](auto dequantize, auto block_tag) {
    using B = decltype(block_tag);
    const int64_t qk = traits(type).block_size;
    if (reinterpret_cast<uintptr_t>(row) % alignof(B) == 0) {
      dequantize(static_cast<const B*>(static_cast<const void*>(row)), out, n);  // aligned
      return;
    }
    for (int64_t i = 0; i < n / qk; ++i) {
      B b;
      std::memcpy(&b, row + i * static_cast<int64_t>(sizeof(B)), sizeof(B));
      dequantize(&b, out + i * qk, qk);
    }
  };
  switch (type) {
    case DType::Q4_0:
      return run(dequantize_row_q4_0, block_q4_0{});
    case DType::Q4_1:
      return run(dequantize_row_q4_1, block_q4_1{});
    case DType::Q5_0:
      return run(dequantize_row_q5_0, block_q5_0{});
    case DType::Q5_1:
      return run(dequantize_row_q5_1, block_q5_1{});
    case DType::Q8_0:
      return run(dequantize_row_q8_0, block_q8_0{});
    case DType::Q2_K:
      return run(dequantize_row_q2_k, block_q2_k{});
    case DType::Q3_K:
      return run(dequantize_row_q3_k, block_q3_k{});
    case DType::Q4_K:
      return run(dequantize_row_q4_k, block_q4_k{});
    case DType::Q5_K:
      return run(dequantize_row_q5_k, block_q5_k{});
    case DType::Q6_K:
      return run(dequantize_row_q6_k, block_q6_k{});
    default:
      fail_unsupported("kernels: cannot convert weight type {} to f32", dtype_name(type));
  }
}

}  // namespace slmkit::kernels
