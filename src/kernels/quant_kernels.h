// Quantized weights: a row of GGUF blocks times a row of activations quantized per block to the
// matching 8-bit type, as llama.cpp's CPU backend pairs them (its vec_dot_type, which the quant
// registry records): Q8_0 for Q4_0, Q5_0 and Q8_0; Q8_1 (which carries d * sum(qs)) for Q4_1 and
// Q5_1, whose minimum term needs the activation sum; Q8_K (float scale, sums per 16) for the
// K-quants. Inside a block the products are integer sums; one float multiply per block (or per
// sub-block) applies the scales.
//
// Every entry point here dispatches on SLMKIT_ISA like kernels.h; ref:: is the plain C++ twin.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace slmkit::kernels {

// The activation block type a quantized weight type pairs with (Q8_0, Q8_1 or Q8_K);
// Error(unsupported) for a type the kernels do not run.
DType quant_activation_type(DType w);
// Bytes of n activations quantized to `act` (n a multiple of its block size).
size_t quant_activation_bytes(DType act, int64_t n);
// x[0, n) quantized to `act` blocks at out (any alignment), as llama.cpp's CPU backend does
// (quant_activations.cpp says where that differs from ggml's reference).
void quantize_activation(DType act, const float* x, int64_t n, void* out);

// sum over the row of w (type `w_type`, n elements) times the quantized activation row `act`.
float quant_dot(DType w_type, const std::byte* w, const std::byte* act, int64_t n);

// y[t * y_stride + r] = W[r, :] . act_t for rows [r0, r1) and tokens t < n_tokens, act_t being
// the activation row act + t * act_stride_bytes. Uses w.packed where set (packed_layouts.h).
void quant_matmul(const MatrixRef& w, const std::byte* act, int64_t act_stride_bytes,
                  int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1);

// Weight repacking at load, through the weight table's packed layout of w's type: the bytes of
// w's packed copy, 0 where no kernel on this CPU uses one (then leave MatrixRef::packed null).
size_t packed_bytes(const MatrixRef& w);
void pack_matrix(const MatrixRef& w, std::byte* out);
// Rows per interleaved group of w's packed layout: a slice of whole groups (rows [0, k * this))
// packs into the first packed_bytes(slice) bytes of w's packed copy.
int64_t packed_group_rows(const MatrixRef& w);

// A row of quantized weights as f32 (token embedding lookups), at any alignment.
void quant_row_to_f32(DType type, const std::byte* row, float* out, int64_t n);

namespace ref {
// Integer sums per block exactly as ggml's generic vec_dot; the per-block float terms are summed
// in double (quant_reference.h has one function per type).
float quant_dot(DType w_type, const std::byte* w, const std::byte* act, int64_t n);
void quant_matmul(const MatrixRef& w, const std::byte* act, int64_t act_stride_bytes,
                  int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1);
}  // namespace ref

}  // namespace slmkit::kernels
