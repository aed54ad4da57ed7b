#include <algorithm>
#include <set>

#include "arch/arch.h"
#include "core/fail.h"

namespace slmkit::arch {

void sliding_layers(ModelConfig& c, int64_t period) {
  c.layer_attention.assign(static_cast<size_t>(std::max<int64_t>(c.n_layer, 0)),
                           AttentionKind::global);
  if (c.sliding_window <= 0) return;
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const bool sliding = period == 0 || (l % period < period - 1);
    c.layer_attention[static_cast<size_t>(l)] =
        sliding ? AttentionKind::sliding : AttentionKind::global;
  }
}

int64_t checked_layer_count(int64_t n_layer, const std::string& where) {
  if (n_layer < 1 || n_layer > 4096)
    fail_invalid("{}: layer count {} is outside 1..4096", where, n_layer);
  return n_layer;
}

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> specs;
  auto add = [&](std::string name, Shape shape, bool required = true) {
    specs.push_back({std::move(name), std::move(shape), required});
  };
  const int64_t q_dim = c.n_head * c.head_dim;
  const int64_t kv_dim = c.n_head_kv * c.head_dim;
  add("token_embd.weight", {c.vocab_size, c.n_embd});
  if (c.learned_positions) add("position_embd.weight", {c.context_length, c.n_embd});
  auto norm = [&](const std::string& name) {
    add(name + ".weight", {c.n_embd});
    if (c.norm_bias) add(name + ".bias", {c.n_embd});
  };
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    norm(p + "attn_norm");
    if (c.fused_qkv) {
      add(p + "attn_qkv.weight", {q_dim + 2 * kv_dim, c.n_embd});
      if (c.attn_qkv_bias) add(p + "attn_qkv.bias", {q_dim + 2 * kv_dim});
    } else {
      add(p + "attn_q.weight", {q_dim, c.n_embd});
      add(p + "attn_k.weight", {kv_dim, c.n_embd});
      add(p + "attn_v.weight", {kv_dim, c.n_embd});
      if (c.attn_qkv_bias) {
        add(p + "attn_q.bias", {q_dim});
        add(p + "attn_k.bias", {kv_dim});
        add(p + "attn_v.bias", {kv_dim});
      }
    }
    if (c.qk_norm) {
      add(p + "attn_q_norm.weight", {c.head_dim});
      add(p + "attn_k_norm.weight", {c.head_dim});
    }
    add(p + "attn_output.weight", {c.n_embd, q_dim});
    if (c.attn_out_bias) add(p + "attn_output.bias", {c.n_embd});
    if (c.sandwich_norm) add(p + "post_attention_norm.weight", {c.n_embd});
    norm(p + "ffn_norm");
    if (c.gated_ffn) add(p + "ffn_gate.weight", {c.n_ff, c.n_embd});
    add(p + "ffn_up.weight", {c.n_ff, c.n_embd});
    add(p + "ffn_down.weight", {c.n_embd, c.n_ff});
    if (c.ffn_bias) {
      add(p + "ffn_up.bias", {c.n_ff});
      add(p + "ffn_down.bias", {c.n_embd});
    }
    if (c.sandwich_norm) add(p + "post_ffw_norm.weight", {c.n_embd});
  }
  norm("output_norm");
  add("output.weight", {c.vocab_size, c.n_embd}, !c.tied_embeddings);
  if (c.rope.scaling == RopeScaling::llama3) add("rope_freqs.weight", {c.rope.n_dims / 2}, false);
  return specs;
}

namespace {

void check_config(const ModelConfig& c, const std::string& where) {
  auto positive = [&](int64_t v, const char* field) {
    if (v <= 0) fail_invalid("{}: {} must be positive, found {}", where, field, v);
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.n_embd, "embedding length");
  positive(c.n_layer, "layer count");
  positive(c.n_head, "head count");
  positive(c.n_head_kv, "KV head count");
  positive(c.head_dim, "head dim");
  positive(c.n_ff, "feed-forward length");
  positive(c.context_length, "context length");
  if (c.n_head % c.n_head_kv != 0) {
    fail_invalid("{}: head count {} is not a multiple of the KV head count {}", where, c.n_head,
                 c.n_head_kv);
  }
  if (static_cast<int64_t>(c.layer_attention.size()) != c.n_layer) {
    fail_invalid("{}: {} per-layer attention kinds for {} layers", where, c.layer_attention.size(),
                 c.n_layer);
  }
  if (c.rope.style != RopeStyle::none) {
    if (c.rope.n_dims <= 0 || c.rope.n_dims > c.head_dim || c.rope.n_dims % 2 != 0) {
      fail_invalid("{}: RoPE dimension count {} must be even and within the head dim {}", where,
                   c.rope.n_dims, c.head_dim);
    }
    if (!(c.rope.freq_base > 0) || !(c.rope.freq_base_local > 0)) {
      fail_invalid("{}: RoPE frequency bases must be positive, found {} and {}", where,
                   c.rope.freq_base, c.rope.freq_base_local);
    }
    if (c.rope.scaling == RopeScaling::linear && !(c.rope.scaling_factor > 0)) {
      fail_invalid("{}: linear RoPE scaling factor must be positive, found {}", where,
                   c.rope.scaling_factor);
    }
  }
  for (AttentionKind k : c.layer_attention) {
    if (k == AttentionKind::sliding && c.sliding_window <= 0) {
      fail_invalid("{}: sliding-window layers need a sliding window > 0, found {}", where,
                   c.sliding_window);
    }
  }
  if (!(c.norm_eps > 0 && c.norm_eps < 1))
    fail_invalid("{}: norm epsilon {} is out of range", where, c.norm_eps);
  // Bound the sizes a config can imply so a hostile file cannot make anything overflow.
  constexpr int64_t kMax = int64_t{1} << 24;
  for (int64_t v : {c.vocab_size, c.n_embd, c.n_ff, c.n_head, c.head_dim, c.context_length}) {
    if (v > kMax) fail_invalid("{}: dimension {} exceeds the supported maximum {}", where, v, kMax);
  }
  if (c.n_head * c.head_dim > kMax) {
    fail_invalid("{}: {} heads of {} exceed the supported maximum width {}", where, c.n_head,
                 c.head_dim, kMax);
  }
  if (c.n_layer > 4096)
    fail_invalid("{}: {} layers exceeds the supported maximum 4096", where, c.n_layer);
}

}  // namespace

void check_model(const Model& model, const std::string& where) {
  check_config(model.config, where);
  std::set<std::string> known;
  for (const TensorSpec& spec : expected_tensors(model.config)) {
    known.insert(spec.name);
    const Tensor* t = model.find(spec.name);
    if (!t) {
      if (spec.required) {
        fail_invalid("{}: tensor '{}' is missing (a {} model with this config needs it)", where,
                     spec.name, model.config.arch);
      }
      continue;
    }
    if (t->shape() != spec.shape) {
      fail_invalid("{}: tensor '{}' has shape {}, expected {}", where, spec.name,
                   shape_string(t->shape()), shape_string(spec.shape));
    }
  }
  for (const Tensor& t : model.tensors()) {
    if (!known.count(t.name())) {
      fail_invalid("{}: unexpected tensor '{}' for a {} model", where, t.name(), model.config.arch);
    }
  }
}

}  // namespace slmkit::arch
