// The quant type registry, the ggml way: one row per storage type slmkit computes with, holding
// what the type is: its block geometry (from sizeof of its block struct, checked against GGML's
// catalogue at compile time), its reference quantizer, its importance-weighted quantizer, its
// dequantizer, the 8-bit activation type its integer dot product pairs with (ggml-cpu's
// vec_dot_type) and the llama_ftype of a file whose matrices are of this type. How the engine
// multiplies by a weight type is the kernels' table (kernels/weight_types.h), which derives
// everything else from this one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "quant/llama_ftype.h"
#include "slmkit/dtype.h"

namespace slmkit::quant {

// n elements; n is a multiple of the type's block size; y (x) aligned for the block struct.
using FromFloatFn = void (*)(const float* x, void* y, int64_t n);
using ToFloatFn = void (*)(const void* x, float* y, int64_t n);
// One row of n floats with per-column importance weights `qw` (n floats).
using WeightedFromFloatFn = void (*)(const float* x, void* y, int64_t n, const float* qw);

struct QuantTraits {
  DType type;
  int64_t block_elements;
  size_t block_bytes;
  size_t block_align;      // alignof the block struct
  FromFloatFn from_float;  // ggml's quantize_row_*_ref: byte-identical with llama.cpp
  // The importance-weighted path (llama.cpp's quantize_<type> with quant_weights); nullptr where
  // the type takes none (Q8_0 and the float types: ggml ignores an imatrix for them).
  WeightedFromFloatFn from_float_weighted;
  ToFloatFn to_float;
  DType vec_dot_type;  // activations are quantized to this type for the dot product
  std::optional<LlamaFtype> llama_ftype;  // none for the activation-only types Q8_1, Q8_K
};

// nullptr for a type with no row (IQ*, TQ*, MXFP4, integer types).
const QuantTraits* quant_traits(DType type);
std::span<const QuantTraits> all_quant_traits();
// The types `quantize_rows` accepts as targets and `dequantize` as sources.
bool can_quantize(DType type);
bool can_dequantize(DType type);

// The row's to_float / from_float for n elements at any address: where the address is not
// aligned for the block struct, block by block through an aligned copy.
void to_float_any_alignment(const QuantTraits& t, const std::byte* x, float* y, int64_t n);
void from_float_any_alignment(const QuantTraits& t, const float* x, std::byte* y, int64_t n);

}  // namespace slmkit::quant
