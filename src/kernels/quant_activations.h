// Activation rows quantized to the 8-bit block types the quantized dot products take (Q8_0,
// Q8_1, Q8_K; quant_kernels.h says which weight type pairs with which), n a multiple of the block
// size, `out` at any alignment. The vectorized quantizers (quant_activations_hwy.cpp) produce the
// same bytes as their scalar twins in ref:: (quant_activations.cpp) and dispatch on SLMKIT_ISA.
#pragma once

#include <cstdint>

namespace slmkit::kernels {

void quantize_q8_0(const float* x, int64_t n, void* out);
void quantize_q8_1(const float* x, int64_t n, void* out);
void quantize_q8_k(const float* x, int64_t n, void* out);

namespace ref {
void quantize_q8_0(const float* x, int64_t n, void* out);
void quantize_q8_1(const float* x, int64_t n, void* out);
void quantize_q8_k(const float* x, int64_t n, void* out);
}  // namespace ref

}  // namespace slmkit::kernels
