// Gemma 3 (text): RMSNorm with (1 + w) weights, sandwich norms, QK-norm, GeGLU (tanh), scaled
// embeddings, tied head, interleaved sliding-window (local RoPE base) and global layers.
#include <cmath>

#include "arch/families.h"
#include "arch/llama_names.h"
#include "core/fail.h"

namespace slmkit::arch {
namespace {

constexpr int64_t kDefaultSlidingPattern = 6;  // every 6th layer is global (HF and llama.cpp)

void defaults(ModelConfig& c) {
  c.norm = NormKind::rms_norm;
  c.activation = Activation::gelu_tanh;
  c.gated_ffn = true;
  c.rope.style = RopeStyle::neox;
  c.sandwich_norm = true;
  c.qk_norm = true;
  c.tied_embeddings = true;
  c.rope.freq_base_local = 10000.0;
}

void from_hf(const nlohmann::json& outer, ModelConfig& c) {
  // Gemma3ForConditionalGeneration nests the language model's config.
  const nlohmann::json& j = outer.contains("text_config") ? outer["text_config"] : outer;
  llama_like_from_hf(j, c);
  c.head_dim = hf::get_int(j, "head_dim", int64_t{256});
  c.rope.n_dims = c.head_dim;
  c.tied_embeddings = true;
  c.rope.freq_base = hf::get_double(j, "rope_theta", 1000000.0);
  c.rope.freq_base_local = hf::get_double(j, "rope_local_base_freq", 10000.0);
  c.attn_scale =
      1.0 / std::sqrt(hf::get_double(j, "query_pre_attn_scalar", static_cast<double>(c.head_dim)));
  c.final_logit_softcap = hf::get_double(j, "final_logit_softcapping", 0.0);
  c.attn_logit_softcap = hf::get_double(j, "attn_logit_softcapping", 0.0);
  c.embed_scale = std::sqrt(static_cast<double>(c.n_embd));
  c.sliding_window = hf::get_int(j, "sliding_window", int64_t{0});
  const std::string act =
      j.value("hidden_activation", j.value("hidden_act", std::string("gelu_pytorch_tanh")));
  if (act != "gelu_pytorch_tanh" && act != "gelu_tanh") {
    fail_unsupported("gemma3 config.json: activation \"{}\" is not supported (gelu_pytorch_tanh)",
                     act);
  }
  if (auto it = j.find("layer_types"); it != j.end() && it->is_array()) {
    if (static_cast<int64_t>(it->size()) != c.n_layer) {
      fail_invalid("gemma3 config.json: {} layer_types for {} layers", it->size(), c.n_layer);
    }
    c.layer_attention.clear();
    for (const auto& t : *it) {
      c.layer_attention.push_back(t == "sliding_attention" ? AttentionKind::sliding
                                                           : AttentionKind::global);
    }
  } else {
    sliding_layers(c, hf::get_int(j, "sliding_window_pattern", kDefaultSlidingPattern));
  }
}

void to_hf(const ModelConfig& c, nlohmann::ordered_json& j) {
  j["architectures"] = {"Gemma3ForCausalLM"};
  j["model_type"] = "gemma3_text";
  llama_like_to_hf(c, j);
  j.erase("mlp_bias");
  j["hidden_activation"] = "gelu_pytorch_tanh";
  j["rope_local_base_freq"] = c.rope.freq_base_local;
  j["query_pre_attn_scalar"] =
      c.attn_scale > 0 ? std::lround(1.0 / (c.attn_scale * c.attn_scale)) : c.head_dim;
  j["sliding_window"] = c.sliding_window;
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  for (AttentionKind k : c.layer_attention) {
    types.push_back(k == AttentionKind::sliding ? "sliding_attention" : "full_attention");
  }
  j["layer_types"] = types;
  j["final_logit_softcapping"] =
      c.final_logit_softcap > 0 ? nlohmann::ordered_json(c.final_logit_softcap) : nullptr;
  j["attn_logit_softcapping"] = nullptr;
}

// What llama.cpp derives rather than reads for Gemma 3.
void complete_gguf_config(ModelConfig& c) {
  c.embed_scale = std::sqrt(static_cast<double>(c.n_embd));
  // llama.cpp: 1/sqrt(head_dim), except Gemma 3 27B (62 layers), which uses n_embd / n_head.
  c.attn_scale = c.n_layer == 62 && c.n_head > 0
                     ? 1.0 / std::sqrt(static_cast<double>(c.n_embd / c.n_head))
                     : 1.0 / std::sqrt(static_cast<double>(c.head_dim));
}

}  // namespace

const Arch& gemma3_arch() {
  static const Arch arch{
      .name = "gemma3",
      .hf_model_types = {"gemma3", "gemma3_text"},
      .hf_names =
          with(llama_attention_names(),
               {
                   {"model.layers.{L}.self_attn.q_norm.weight", "blk.{L}.attn_q_norm.weight"},
                   {"model.layers.{L}.self_attn.k_norm.weight", "blk.{L}.attn_k_norm.weight"},
                   {"model.layers.{L}.post_attention_layernorm.weight",
                    "blk.{L}.post_attention_norm.weight"},
                   {"model.layers.{L}.pre_feedforward_layernorm.weight", "blk.{L}.ffn_norm.weight"},
                   {"model.layers.{L}.post_feedforward_layernorm.weight",
                    "blk.{L}.post_ffw_norm.weight"},
               }),
      .hf_ignored = {},
      .gguf_rope_style = RopeStyle::neox,
      .hf_rope_style = RopeStyle::neox,
      .hf_norm_weight_offset = 1.0f,
      .defaults = defaults,
      .from_hf = from_hf,
      .to_hf = to_hf,
      .gguf_float_keys =
          {
              {"final_logit_softcapping",
               [](ModelConfig& c) -> double& { return c.final_logit_softcap; }, 0.0},
              {"rope.freq_base_swa",
               [](ModelConfig& c) -> double& { return c.rope.freq_base_local; }, 10000.0},
          },
      .gguf_sliding_period = kDefaultSlidingPattern,
      .gguf_key_length_always = true,
      .complete_gguf_config = complete_gguf_config,
  };
  return arch;
}

}  // namespace slmkit::arch
