// Storage types of tensor elements. The numeric values are GGML's type ids, so a GGUF tensor type
// maps onto DType without a table. Block types store `block_size` elements in `block_bytes` bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace slmkit {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct DTypeTraits {
  std::string_view name;  // as llama.cpp spells it: "f32", "q4_K", ...
  uint32_t block_size;    // elements per block (1 for plain types)
  uint32_t block_bytes;   // bytes per block
  bool is_float;          // F32/F16/BF16/F64: values readable without a dequantizer
};

// nullopt for ids that are not a known type (GGML has retired ids 4, 5, 31-33, 36-38).
std::optional<DTypeTraits> dtype_traits(uint32_t id) noexcept;
const DTypeTraits& traits(DType type);  // throws Error(internal) for a value outside the enum
std::string_view dtype_name(DType type);
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive

// Bytes of one row of `n_elements` elements; nullopt when n is not a multiple of the block size
// or the product overflows.
std::optional<uint64_t> row_bytes(DType type, uint64_t n_elements) noexcept;

}  // namespace slmkit
