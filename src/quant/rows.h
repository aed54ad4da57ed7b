// Scalar reference quantizers and dequantizers, one pair per block type. `n` is the number of
// elements and must be a multiple of the type's block size (callers check; see quant.h).
//
// The quantizers reproduce ggml's reference path (`quantize_row_*_ref`), which is the one
// `llama_model_quantize` reaches for every type here when no importance matrix is given, so for
// the same float input the bytes are identical. That includes float evaluation order: these files
// must be compiled without fused multiply-add contraction (the project builds for baseline x86-64,
// where the compiler has no FMA to contract into).
#pragma once

#include <cstdint>

#include "quant/blocks.h"

namespace slmkit::quant {

// The 5-bit levels of one 32-element block (Q5_0, Q5_1) as ggml stores them: the low nibbles of
// levels j and j + 16 share qs[j]; their fifth bits are bits j and j + 16 of qh (little-endian).
void pack_5bit(const uint8_t* levels, uint8_t* qs, uint8_t* qh_bytes);

void quantize_row_q4_0(const float* x, block_q4_0* y, int64_t n);
void quantize_row_q4_1(const float* x, block_q4_1* y, int64_t n);
void quantize_row_q5_0(const float* x, block_q5_0* y, int64_t n);
void quantize_row_q5_1(const float* x, block_q5_1* y, int64_t n);
void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t n);
void quantize_row_q8_1(const float* x, block_q8_1* y, int64_t n);

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t n);
void dequantize_row_q4_1(const block_q4_1* x, float* y, int64_t n);
void dequantize_row_q5_0(const block_q5_0* x, float* y, int64_t n);
void dequantize_row_q5_1(const block_q5_1* x, float* y, int64_t n);
void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t n);
void dequantize_row_q8_1(const block_q8_1* x, float* y, int64_t n);

void quantize_row_q2_k(const float* x, block_q2_k* y, int64_t n);
void quantize_row_q3_k(const float* x, block_q3_k* y, int64_t n);
void quantize_row_q4_k(const float* x, block_q4_k* y, int64_t n);
void quantize_row_q5_k(const float* x, block_q5_k* y, int64_t n);
void quantize_row_q6_k(const float* x, block_q6_k* y, int64_t n);
void quantize_row_q8_k(const float* x, block_q8_k* y, int64_t n);

void dequantize_row_q2_k(const block_q2_k* x, float* y, int64_t n);
void dequantize_row_q3_k(const block_q3_k* x, float* y, int64_t n);
void dequantize_row_q4_k(const block_q4_k* x, float* y, int64_t n);
void dequantize_row_q5_k(const block_q5_k* x, float* y, int64_t n);
void dequantize_row_q6_k(const block_q6_k* x, float* y, int64_t n);
void dequantize_row_q8_k(const block_q8_k* x, float* y, int64_t n);

// The importance-weighted paths (ggml's quantize_row_<type>_impl with quant_weights): `qw` holds
// n floats, one per column of the row. Q8_0 has none (ggml ignores the imatrix for it).
void quantize_row_q4_0_weighted(const float* x, block_q4_0* y, int64_t n, const float* qw);
void quantize_row_q4_1_weighted(const float* x, block_q4_1* y, int64_t n, const float* qw);
void quantize_row_q5_0_weighted(const float* x, block_q5_0* y, int64_t n, const float* qw);
void quantize_row_q5_1_weighted(const float* x, block_q5_1* y, int64_t n, const float* qw);
void quantize_row_q2_k_weighted(const float* x, block_q2_k* y, int64_t n, const float* qw);
void quantize_row_q3_k_weighted(const float* x, block_q3_k* y, int64_t n, const float* qw);
void quantize_row_q4_k_weighted(const float* x, block_q4_k* y, int64_t n, const float* qw);
void quantize_row_q5_k_weighted(const float* x, block_q5_k* y, int64_t n, const float* qw);
void quantize_row_q6_k_weighted(const float* x, block_q6_k* y, int64_t n, const float* qw);

}  // namespace slmkit::quant
