// Quantizing and dequantizing whole tensors through the type registry (quant/type_traits.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "slmkit/dtype.h"

namespace slmkit::quant {

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
