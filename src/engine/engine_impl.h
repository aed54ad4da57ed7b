// The prepared weights behind slmkit::Engine: views of the model's matrices with the kernels for
// their storage type, and f32 copies of the small vectors (norm weights with the family's offset
// applied, biases).
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "core/page_buffer.h"
#include "kernels/kernels.h"
#include "kernels/weight_types.h"
#include "slmkit/engine.h"

namespace slmkit::engine {

// y = W x (+ bias), W [rows = out_features, cols = in_features].
struct Linear {
  kernels::MatrixRef w;
  const kernels::WeightKernels* kernels = nullptr;  // null: the matrix is absent
  const float* bias = nullptr;                      // [rows], or null
  std::string name;  // the model's tensor name, for SessionOptions::on_matmul_input
  bool present() const { return kernels != nullptr; }
  int64_t rows() const { return w.rows; }
  int64_t cols() const { return w.cols; }
};

struct Norm {
  const float* weight = nullptr;  // [n], norm_weight_offset already added; null: absent
  const float* bias = nullptr;    // [n], LayerNorm only; may be null
  bool present() const { return weight != nullptr; }
};

struct LayerWeights {
  Norm attn_norm;
  Linear qkv;      // fused [q rows | k rows | v rows] (GPT-2); absent when q, k, v are separate
  Linear q, k, v;  // [n_head * head_dim | n_head_kv * head_dim, n_embd]
  const float* q_norm = nullptr;  // [head_dim], QK-norm
  const float* k_norm = nullptr;
  Linear attn_output;  // [n_embd, n_head * head_dim]
  Norm post_attention_norm;
  Norm ffn_norm;
  Linear ffn_gate;  // [n_ff, n_embd], gated FFNs only
  Linear ffn_up;    // [n_ff, n_embd]
  Linear ffn_down;  // [n_embd, n_ff]
  Norm post_ffw_norm;
  bool sliding = false;  // sliding-window attention layer (local RoPE base, no scaling)
};

}  // namespace slmkit::engine

namespace slmkit {

struct Engine::Impl {
  Model model;
  std::string where;  // the model's path, for messages

  int64_t n_embd = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_rep = 0;   // query heads per KV head
  int64_t q_dim = 0;   // n_head * head_dim
  int64_t kv_dim = 0;  // n_head_kv * head_dim
  int64_t n_ff = 0;
  int64_t n_vocab = 0;
  int64_t rope_dims = 0;  // rotated dimensions per head; 0: no RoPE
  float attn_scale = 1.0f;
  int64_t max_positions = 0;  // learned position table rows; 0: unbounded

  engine::Linear token_embd;     // [vocab, n_embd], rows looked up
  engine::Linear position_embd;  // [n_ctx_train, n_embd], GPT-2
  std::vector<engine::LayerWeights> layers;
  engine::Norm output_norm;
  engine::Linear output;                 // [vocab, n_embd] (token_embd when tied)
  std::vector<float> rope_freq_factors;  // rope_freqs.weight: each angle is divided by one

  std::deque<std::vector<float>> owned;  // backing store of the f32 vectors (stable addresses)
  std::deque<PageBuffer> packed;         // interleaved copies of matrices (MatrixRef::packed)

  explicit Impl(Model m);
  // Weight bytes allocated here rather than read in place: packed matrices, f32 vectors.
  uint64_t allocated_weight_bytes() const;
};

}  // namespace slmkit
