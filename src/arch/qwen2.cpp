// Qwen2 / Qwen2.5: Llama's layout with q/k/v biases, RoPE in rotate-half order in both formats.
#include "arch/families.h"
#include "arch/llama_names.h"
#include "core/fail.h"

namespace slmkit::arch {
namespace {

void defaults(ModelConfig& c) {
  c.norm = NormKind::rms_norm;
  c.activation = Activation::silu;
  c.gated_ffn = true;
  c.rope.style = RopeStyle::neox;
  c.attn_qkv_bias = true;
}

void from_hf(const nlohmann::json& j, ModelConfig& c) {
  llama_like_from_hf(j, c);
  c.attn_qkv_bias = true;  // Qwen2 always has q/k/v biases and no attention_bias key
  c.attn_out_bias = false;
  if (hf::get_bool(j, "use_sliding_window", false)) {
    fail_unsupported("qwen2 config.json: use_sliding_window=true is not supported");
  }
  const std::string act = j.value("hidden_act", std::string("silu"));
  if (act != "silu")
    fail_unsupported("qwen2 config.json: hidden_act \"{}\" is not supported (silu)", act);
}

void to_hf(const ModelConfig& c, nlohmann::ordered_json& j) {
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["model_type"] = "qwen2";
  llama_like_to_hf(c, j);
  j.erase("attention_bias");
  j.erase("mlp_bias");
  j.erase("head_dim");
  j["use_sliding_window"] = false;
}

}  // namespace

const Arch& qwen2_arch() {
  static const Arch arch{
      .name = "qwen2",
      .hf_model_types = {"qwen2"},
      .hf_names =
          with(llama_attention_names(),
               {{"model.layers.{L}.post_attention_layernorm.weight", "blk.{L}.ffn_norm.weight"}}),
      .hf_ignored = {"model.layers.{L}.self_attn.rotary_emb.inv_freq"},
      .gguf_rope_style = RopeStyle::neox,
      .hf_rope_style = RopeStyle::neox,
      .hf_norm_weight_offset = 0.0f,
      .defaults = defaults,
      .from_hf = from_hf,
      .to_hf = to_hf,
  };
  return arch;
}

}  // namespace slmkit::arch
