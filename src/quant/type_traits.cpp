#include "quant/type_traits.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <type_traits>

#include "core/dtype_catalogue.h"
#include "core/half.h"
#include "quant/rows.h"

namespace slmkit::quant {
namespace {

// Adapters from the typed row functions of rows.h to the table's untyped signatures.
template <typename Block, void (*Fn)(const float*, Block*, int64_t)>
void from_float(const float* x, void* y, int64_t n) {
  Fn(x, static_cast<Block*>(y), n);
}
template <typename Block, void (*Fn)(const Block*, float*, int64_t)>
void to_float(const void* x, float* y, int64_t n) {
  Fn(static_cast<const Block*>(x), y, n);
}
template <typename Block, void (*Fn)(const float*, Block*, int64_t, const float*)>
void weighted(const float* x, void* y, int64_t n, const float* qw) {
  Fn(x, static_cast<Block*>(y), n, qw);
}

template <typename Block>
using WeightedFn = void (*)(const float*, Block*, int64_t, const float*);

// A block type's row: geometry from the struct, checked against GGML's catalogue.
template <DType T, typename Block, void (*Quantize)(const float*, Block*, int64_t),
          void (*Dequantize)(const Block*, float*, int64_t), auto Weighted = nullptr>
constexpr QuantTraits block_row(DType vec_dot, std::optional<LlamaFtype> ftype) {
  constexpr std::optional<DTypeTraits> ggml = catalogue::lookup(static_cast<uint32_t>(T));
  static_assert(ggml && sizeof(Block) == ggml->block_bytes, "block struct size is not GGML's");
  static_assert(Block::kElements == ggml->block_size, "block element count is not GGML's");
  WeightedFromFloatFn w = nullptr;
  // Tested by type, not by comparing a function pointer with null: GCC's -fsanitize=undefined
  // makes that comparison non-constant.
  if constexpr (!std::is_same_v<decltype(Weighted), std::nullptr_t>) w = weighted<Block, Weighted>;
  return {T,
          Block::kElements,
          sizeof(Block),
          alignof(Block),
          from_float<Block, Quantize>,
          w,
          to_float<Block, Dequantize>,
          vec_dot,
          ftype};
}

void f32_from_float(const float* x, void* y, int64_t n) {
  std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}
void f32_to_float(const void* x, float* y, int64_t n) {
  std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}
template <uint16_t (*Convert)(float)>
void half_from_float(const float* x, void* y, int64_t n) {
  auto* out = static_cast<std::byte*>(y);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = Convert(x[i]);
    std::memcpy(out + i * 2, &h, 2);
  }
}
template <float (*Convert)(uint16_t)>
void half_to_float(const void* x, float* y, int64_t n) {
  const auto* in = static_cast<const std::byte*>(x);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, in + i * 2, 2);
    y[i] = Convert(h);
  }
}

// The float types are read and written with memcpy: any alignment, activations as they are.
template <DType T, typename Element>
constexpr QuantTraits float_row(FromFloatFn from, ToFloatFn to, LlamaFtype ftype) {
  constexpr std::optional<DTypeTraits> ggml = catalogue::lookup(static_cast<uint32_t>(T));
  static_assert(ggml && sizeof(Element) == ggml->block_bytes && ggml->block_size == 1);
  return {T, 1, sizeof(Element), 1, from, nullptr, to, T, ftype};
}

// Activation pairings follow ggml-cpu's type_traits_cpu: the symmetric legacy types dot with
// q8_0, the ones with a minimum with q8_1 (whose block carries the sum), K-quants with q8_K.
// llama_ftype: a K type alone reads as its _M preset, as llama.cpp names such a file.
constexpr std::array<QuantTraits, 15> kTable = {{
    float_row<DType::F32, float>(f32_from_float, f32_to_float, LlamaFtype::F32),
    float_row<DType::F16, uint16_t>(half_from_float<f32_to_f16>, half_to_float<f16_to_f32>,
                                    LlamaFtype::F16),
    float_row<DType::BF16, uint16_t>(half_from_float<f32_to_bf16>, half_to_float<bf16_to_f32>,
                                     LlamaFtype::BF16),
    block_row<DType::Q4_0, block_q4_0, quantize_row_q4_0, dequantize_row_q4_0,
              quantize_row_q4_0_weighted>(DType::Q8_0, LlamaFtype::Q4_0),
    block_row<DType::Q4_1, block_q4_1, quantize_row_q4_1, dequantize_row_q4_1,
              quantize_row_q4_1_weighted>(DType::Q8_1, LlamaFtype::Q4_1),
    block_row<DType::Q5_0, block_q5_0, quantize_row_q5_0, dequantize_row_q5_0,
              quantize_row_q5_0_weighted>(DType::Q8_0, LlamaFtype::Q5_0),
    block_row<DType::Q5_1, block_q5_1, quantize_row_q5_1, dequantize_row_q5_1,
              quantize_row_q5_1_weighted>(DType::Q8_1, LlamaFtype::Q5_1),
    block_row<DType::Q8_0, block_q8_0, quantize_row_q8_0, dequantize_row_q8_0>(DType::Q8_0,
                                                                               LlamaFtype::Q8_0),
    block_row<DType::Q8_1, block_q8_1, quantize_row_q8_1, dequantize_row_q8_1>(DType::Q8_1,
                                                                               std::nullopt),
    block_row<DType::Q2_K, block_q2_k, quantize_row_q2_k, dequantize_row_q2_k,
              quantize_row_q2_k_weighted>(DType::Q8_K, LlamaFtype::Q2_K),
    block_row<DType::Q3_K, block_q3_k, quantize_row_q3_k, dequantize_row_q3_k,
              quantize_row_q3_k_weighted>(DType::Q8_K, LlamaFtype::Q3_K_M),
    block_row<DType::Q4_K, block_q4_k, quantize_row_q4_k, dequantize_row_q4_k,
              quantize_row_q4_k_weighted>(DType::Q8_K, LlamaFtype::Q4_K_M),
    block_row<DType::Q5_K, block_q5_k, quantize_row_q5_k, dequantize_row_q5_k,
              quantize_row_q5_k_weighted>(DType::Q8_K, LlamaFtype::Q5_K_M),
    block_row<DType::Q6_K, block_q6_k, quantize_row_q6_k, dequantize_row_q6_k,
              quantize_row_q6_k_weighted>(DType::Q8_K, LlamaFtype::Q6_K),
    block_row<DType::Q8_K, block_q8_k, quantize_row_q8_k, dequantize_row_q8_k>(DType::Q8_K,
                                                                               std::nullopt),
}};

// The bounce buffer below holds any block of the table.
constexpr size_t kMaxBlockBytes = [] {
  size_t m = 0;
  for (const QuantTraits& t : kTable) m = std::max(m, t.block_bytes);
  return m;
}();
constexpr size_t kMaxBlockAlign = [] {
  size_t m = 1;
  for (const QuantTraits& t : kTable) m = std::max(m, t.block_align);
  return m;
}();

bool aligned(const void* p, size_t align) {
  return reinterpret_cast<uintptr_t>(p) % align == 0;
}

}  // namespace

const QuantTraits* quant_traits(DType type) {
  for (const QuantTraits& row : kTable) {
    if (row.type == type) return &row;
  }
  return nullptr;
}

std::span<const QuantTraits> all_quant_traits() {
  return kTable;
}

bool can_quantize(DType type) {
  return quant_traits(type) != nullptr;
}
bool can_dequantize(DType type) {
  return quant_traits(type) != nullptr;
}

void to_float_any_alignment(const QuantTraits& t, const std::byte* x, float* y, int64_t n) {
  if (aligned(x, t.block_align)) return t.to_float(x, y, n);
  alignas(kMaxBlockAlign) std::byte block[kMaxBlockBytes];
  for (int64_t i = 0; i < n / t.block_elements; ++i) {
    std::memcpy(block, x + static_cast<size_t>(i) * t.block_bytes, t.block_bytes);
    t.to_float(block, y + i * t.block_elements, t.block_elements);
  }
}

void from_float_any_alignment(const QuantTraits& t, const float* x, std::byte* y, int64_t n) {
  if (aligned(y, t.block_align)) return t.from_float(x, y, n);
  alignas(kMaxBlockAlign) std::byte block[kMaxBlockBytes];
  for (int64_t i = 0; i < n / t.block_elements; ++i) {
    t.from_float(x + i * t.block_elements, block, t.block_elements);
    std::memcpy(y + static_cast<size_t>(i) * t.block_bytes, block, t.block_bytes);
  }
}

}  // namespace slmkit::quant
