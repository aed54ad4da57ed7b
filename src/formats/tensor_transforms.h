// Conversions between the conventions different formats use for the same weights.
#pragma once

#include "slmkit/model.h"

namespace slmkit {

// [rows, cols] -> [cols, rows] for plain element types (GPT-2's Conv1D weights).
Tensor transpose_2d(const Tensor& t);

// Reorders the rows of a q or k projection (or its bias) between RoPE's two layouts: within each
// head of `head_dim` rows, rotate-half order (neox) <-> adjacent pairs (normal). This is
// llama.cpp's converter `permute` and its inverse; rows are moved whole, so any dtype works.
Tensor permute_rope_rows(const Tensor& t, int64_t n_heads, RopeStyle from, RopeStyle to);

// w + offset for a norm weight (Gemma's (1 + w)), keeping the dtype.
Tensor add_to_elements(const Tensor& t, float offset);

// Elements in a new dtype (F32 / F16 / BF16 only).
Tensor convert_float(const Tensor& t, DType to);

// Llama 3's per-frequency RoPE divisors, as llama.cpp's converter stores them in rope_freqs.weight.
Tensor llama3_rope_factors(const ModelConfig& config);

// Brings every tensor whose layout depends on a convention from `from` to `to` (RoPE row order of
// q/k, norm weight offset), updating the config. Tensors that need no change are shared.
void convert_conventions(Model& model, RopeStyle rope_style, float norm_weight_offset);

}  // namespace slmkit
