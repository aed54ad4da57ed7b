// The quantization traits table and whole-tensor helpers. One row per storage type that slmkit
// can write and read: how to turn floats into its bytes, how to turn them back, and which 8-bit
// activation type its integer dot products pair with (as ggml's vec_dot_type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "slmkit/dtype.h"

namespace slmkit::quant {

// n elements; n is a multiple of the type's block size.
using FromFloatFn = void (*)(const float* x, void* y, int64_t n);
using ToFloatFn = void (*)(const void* x, float* y, int64_t n);

struct QuantTraits {
  DType type;
  FromFloatFn from_float;
  ToFloatFn to_float;
  DType vec_dot_type;  // activations are quantized to this type for the dot product
};

// nullptr for a type with no row in the table (IQ*, TQ*, MXFP4, integer types).
const QuantTraits* quant_traits(DType type);
// The types `quantize_rows` accepts as targets.
bool can_quantize(DType type);
bool can_dequantize(DType type);

// One row of n floats with per-column importance weights `qw` (n floats).
using WeightedFromFloatFn = void (*)(const float* x, void* y, int64_t n, const float* qw);
// nullptr for a type whose quantizer takes no importance weights (Q8_0, the float types).
WeightedFromFloatFn weighted_quantizer(DType type);

// Quantizes `src` (rows of n_per_row floats, row-major) to `type`. With `importance` (n_per_row
// column weights, an imatrix's means) the weighted path is taken where the type has one, as
// llama.cpp's quantize_<type>(..., quant_weights) does. With best_of_both, each row is
// quantized both ways (weighted and reference) and keeps the one whose error, weighted by
// `importance` (the expected squared error of the row's dot products), is smaller. Throws
// Error(invalid_input) when n_per_row is not a multiple of the block size or src.size() not a
// multiple of n_per_row, Error(unsupported) for a type without a quantizer. Rows are split over
// `n_threads` (0: one per hardware thread); the bytes do not depend on the split.
std::vector<std::byte> quantize_rows(DType type, std::span<const float> src, int64_t n_per_row,
                                     int n_threads = 1, const float* importance = nullptr,
                                     bool best_of_both = false);

// The same, reading the rows of a tensor stored as `from` (any type with a to_float: F32, F16,
// BF16, the block types) without converting the whole tensor first: each worker converts one row
// at a time into a small buffer and quantizes it, so a billion-parameter F16 model is never held
// in f32 and the conversion runs on every thread.
std::vector<std::byte> quantize_tensor_rows(DType type, DType from, std::span<const std::byte> src,
                                            int64_t n_per_row, int n_threads = 1,
                                            const float* importance = nullptr,
                                            bool best_of_both = false);

// The inverse: `dst.size()` elements from `src`, which must hold exactly that many.
void dequantize(DType type, std::span<const std::byte> src, std::span<float> dst);

}  // namespace slmkit::quant
