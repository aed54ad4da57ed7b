// How the engine multiplies by a weight matrix of each storage type: one row per weight type, as
// ggml-cpu's type_traits_cpu, holding what the kernels add to the quant registry's row
// (quant/type_traits.h): the matmul, the scalar twin of its dot product, and the layout the
// matrix is repacked into at load. The rest is derived from the registry when the table is
// built: the form activations are converted to before the dot products (its vec_dot_type: F32
// weights take them as they are; F16 and BF16 weights pair with activations rounded onto the same
// grid, as llama.cpp's CPU backend does; the quantized types pair with 8-bit activation blocks,
// quant_kernels.h), the bytes of a converted row, and the weight row's conversion to f32.
//
// A new weight type: its row in kWeightRows (weight_types.cpp), its block kernel in the Highway
// unit's BlockKernels list and its scalar twin (quant_reference.h). A new packed layout: a
// PackedLayout (packed_layouts.h) named in its type's row, and its kernel in PackedKernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/kernels.h"

namespace slmkit::quant {
struct QuantTraits;
}

namespace slmkit::kernels {

struct PackedLayout;

// y[t * y_stride + r] = W[r, :] . act_t for r in [r0, r1), t < n_tokens; act_t starts
// act_stride_bytes after act_{t-1}.
using MatmulFn = void (*)(const MatrixRef& w, const void* act, int64_t act_stride_bytes,
                          int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1);
// One row of n weights times n converted activations.
using RowDotFn = float (*)(const std::byte* w, const std::byte* act, int64_t n);
// n floats to the activation form at `out` (any alignment).
using ActivationConvertFn = void (*)(const float* x, int64_t n, void* out);

struct WeightKernels {
  // The kernels' row.
  DType weight = DType::F32;
  MatmulFn matmul = nullptr;
  RowDotFn reference_dot = nullptr;      // quantized types: ggml's generic vec_dot; else nullptr
  const PackedLayout* packed = nullptr;  // repacked at load (engine); nullptr: no such layout
  // Derived from the quant registry.
  const quant::QuantTraits* quant = nullptr;  // the weight type's row
  DType activation = DType::F32;              // what activations are converted to (see above)
  ActivationConvertFn convert_activation = nullptr;
  int64_t activation_block_elements = 1;
  size_t activation_block_bytes = sizeof(float);

  // Bytes of one converted activation row of n elements.
  size_t activation_bytes(int64_t n) const {
    return static_cast<size_t>(n / activation_block_elements) * activation_block_bytes;
  }
  // One weight row as f32, at any alignment.
  void row_to_f32(const std::byte* row, float* out, int64_t n) const;
  // Row r of w as f32, from w's packed copy where that holds the row (the engine hands the file's
  // pages of a repacked matrix back), else from the rows.
  void row_of(const MatrixRef& w, int64_t r, float* out) const;
};

// nullptr when there are no kernels for `type`.
const WeightKernels* find_weight_kernels(DType type);
// "F32, F16, BF16, Q8_0, ..." for messages.
std::string weight_type_names();

// The converter of an activation form (F32, F16, BF16: rounded f32; Q8_0, Q8_1, Q8_K: blocks).
ActivationConvertFn activation_converter(DType activation);

}  // namespace slmkit::kernels
