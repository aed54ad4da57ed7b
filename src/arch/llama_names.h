// The Hugging Face names Llama, Qwen2 and Gemma 3 share (LlamaForCausalLM's module tree).
#pragma once

#include <vector>

#include "arch/arch.h"

namespace slmkit::arch {

inline std::vector<NameRule> llama_attention_names() {
  return {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.layers.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight"},
      {"model.layers.{L}.self_attn.q_proj.weight", "blk.{L}.attn_q.weight"},
      {"model.layers.{L}.self_attn.k_proj.weight", "blk.{L}.attn_k.weight"},
      {"model.layers.{L}.self_attn.v_proj.weight", "blk.{L}.attn_v.weight"},
      {"model.layers.{L}.self_attn.q_proj.bias", "blk.{L}.attn_q.bias"},
      {"model.layers.{L}.self_attn.k_proj.bias", "blk.{L}.attn_k.bias"},
      {"model.layers.{L}.self_attn.v_proj.bias", "blk.{L}.attn_v.bias"},
      {"model.layers.{L}.self_attn.o_proj.weight", "blk.{L}.attn_output.weight"},
      {"model.layers.{L}.mlp.gate_proj.weight", "blk.{L}.ffn_gate.weight"},
      {"model.layers.{L}.mlp.up_proj.weight", "blk.{L}.ffn_up.weight"},
      {"model.layers.{L}.mlp.down_proj.weight", "blk.{L}.ffn_down.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
}

inline std::vector<NameRule> with(std::vector<NameRule> base,
                                  std::initializer_list<NameRule> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// Llama's config.json mapping, which Qwen2 and Gemma 3 start from (defined in llama.cpp).
void llama_like_from_hf(const nlohmann::json& j, ModelConfig& c);
void llama_like_to_hf(const ModelConfig& c, nlohmann::ordered_json& j);

}  // namespace slmkit::arch
