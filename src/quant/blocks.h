// GGUF quantization blocks, laid out byte for byte as ggml-common.h lays them out, so a row of
// blocks can be copied to and from a GGUF tensor unchanged. Half-precision fields are raw IEEE
// binary16 bits (see core/half.h). kElements is the block's element count; the type registry
// (quant/type_traits.cpp) takes each type's geometry from kElements and sizeof and checks both
// against GGML's catalogue (core/dtype_catalogue.h) at compile time.
#pragma once

#include <cstdint>

#include "slmkit/dtype.h"

namespace slmkit::quant {

inline constexpr int kQK = 32;     // elements per block of the legacy types
inline constexpr int kQK_K = 256;  // elements per K-quant super-block
inline constexpr int kKScaleBytes = 12;

struct block_q4_0 {
  static constexpr int kElements = kQK;
  uint16_t d;           // scale
  uint8_t qs[kQK / 2];  // 4-bit values: element j in the low nibble of qs[j], j + 16 in the high
};
struct block_q4_1 {
  static constexpr int kElements = kQK;
  uint16_t d;  // scale
  uint16_t m;  // minimum
  uint8_t qs[kQK / 2];
};
struct block_q5_0 {
  static constexpr int kElements = kQK;
  uint16_t d;
  uint8_t qh[4];  // fifth bits: bit j of the little-endian word belongs to element j
  uint8_t qs[kQK / 2];
};
struct block_q5_1 {
  static constexpr int kElements = kQK;
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct block_q8_0 {
  static constexpr int kElements = kQK;
  uint16_t d;
  int8_t qs[kQK];
};
struct block_q8_1 {  // activations for q4_1 / q5_1 dot products
  static constexpr int kElements = kQK;
  uint16_t d;
  uint16_t s;  // d * sum(qs)
  int8_t qs[kQK];
};

struct block_q2_k {
  static constexpr int kElements = kQK_K;
  uint8_t scales[kQK_K / 16];  // 4-bit scale (low) and 4-bit min (high) per 16 elements
  uint8_t qs[kQK_K / 4];       // 2-bit values
  uint16_t d;                  // super-block scale of the scales
  uint16_t dmin;               // super-block scale of the mins
};
struct block_q3_k {
  static constexpr int kElements = kQK_K;
  uint8_t hmask[kQK_K / 8];      // high bit of each 3-bit value
  uint8_t qs[kQK_K / 4];         // low 2 bits
  uint8_t scales[kKScaleBytes];  // 16 6-bit scales, packed
  uint16_t d;
};
struct block_q4_k {
  static constexpr int kElements = kQK_K;
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];  // 8 6-bit scales and 8 6-bit mins, packed
  uint8_t qs[kQK_K / 2];
};
struct block_q5_k {
  static constexpr int kElements = kQK_K;
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct block_q6_k {
  static constexpr int kElements = kQK_K;
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // 8-bit scales
  uint16_t d;
};
struct block_q8_k {  // activations for K-quant dot products
  static constexpr int kElements = kQK_K;
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];  // sums of qs in groups of 16
};

}  // namespace slmkit::quant
