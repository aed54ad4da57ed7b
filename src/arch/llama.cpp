// Llama family (Llama 2/3.x, TinyLlama, SmolLM, llama2.c stories): RMSNorm, SwiGLU, RoPE, GQA.
// llama.cpp's converter permutes q/k rows from Hugging Face's rotate-half order to adjacent pairs.
#include <cmath>

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
}

void rope_scaling_from_hf(const nlohmann::json& j, ModelConfig& c) {
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return;
  if (!it->is_object()) fail_invalid("config.json \"rope_scaling\" must be an object");
  const std::string type = it->value("rope_type", it->value("type", std::string()));
  if (type == "llama3") {
    c.rope.scaling = RopeScaling::llama3;
    c.rope.scaling_factor = hf::get_double(*it, "factor", 8.0);
    c.rope.low_freq_factor = hf::get_double(*it, "low_freq_factor", 1.0);
    c.rope.high_freq_factor = hf::get_double(*it, "high_freq_factor", 4.0);
    c.rope.original_context_length =
        hf::get_int(*it, "original_max_position_embeddings", int64_t{8192});
  } else if (type == "linear") {
    c.rope.scaling = RopeScaling::linear;
    c.rope.scaling_factor = hf::get_double(*it, "factor", 1.0);
  } else if (type != "default") {
    fail_unsupported("config.json rope_scaling type \"{}\" is not supported (llama3, linear)",
                     type);
  }
}

}  // namespace

void llama_like_from_hf(const nlohmann::json& j, ModelConfig& c) {
  const std::string where = c.arch + " config.json";
  c.vocab_size = hf::get_int(j, "vocab_size", where);
  c.n_embd = hf::get_int(j, "hidden_size", where);
  c.n_layer = checked_layer_count(hf::get_int(j, "num_hidden_layers", where), where);
  c.n_head = hf::get_int(j, "num_attention_heads", where);
  c.n_head_kv = hf::get_int(j, "num_key_value_heads", c.n_head);
  c.head_dim = hf::get_int(j, "head_dim", c.n_head > 0 ? c.n_embd / c.n_head : int64_t{0});
  c.n_ff = hf::get_int(j, "intermediate_size", where);
  c.context_length = hf::get_int(j, "max_position_embeddings", int64_t{2048});
  c.norm_eps = hf::get_double(j, "rms_norm_eps", 1e-6);
  c.rope.freq_base = hf::get_double(j, "rope_theta", 10000.0);
  c.rope.n_dims = c.head_dim;
  c.tied_embeddings = hf::get_bool(j, "tie_word_embeddings", false);
  c.attn_qkv_bias = hf::get_bool(j, "attention_bias", false);
  c.attn_out_bias = c.attn_qkv_bias;
  if (hf::get_bool(j, "mlp_bias", false)) fail_unsupported("{}: mlp_bias is not supported", where);
  rope_scaling_from_hf(j, c);
}

void llama_like_to_hf(const ModelConfig& c, nlohmann::ordered_json& j) {
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.n_embd;
  j["intermediate_size"] = c.n_ff;
  j["num_hidden_layers"] = c.n_layer;
  j["num_attention_heads"] = c.n_head;
  j["num_key_value_heads"] = c.n_head_kv;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.context_length;
  j["rms_norm_eps"] = c.norm_eps;
  j["rope_theta"] = c.rope.freq_base;
  j["hidden_act"] = "silu";
  j["attention_bias"] = c.attn_qkv_bias;
  j["mlp_bias"] = false;
  j["tie_word_embeddings"] = c.tied_embeddings;
  if (c.rope.scaling == RopeScaling::llama3) {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope.scaling_factor},
                         {"low_freq_factor", c.rope.low_freq_factor},
                         {"high_freq_factor", c.rope.high_freq_factor},
                         {"original_max_position_embeddings", c.rope.original_context_length}};
  } else if (c.rope.scaling == RopeScaling::linear) {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope.scaling_factor}};
  } else {
    j["rope_scaling"] = nullptr;
  }
}

namespace {

void from_hf(const nlohmann::json& j, ModelConfig& c) {
  llama_like_from_hf(j, c);
  const std::string act = j.value("hidden_act", std::string("silu"));
  if (act != "silu")
    fail_unsupported("llama config.json: hidden_act \"{}\" is not supported (silu)", act);
}

void to_hf(const ModelConfig& c, nlohmann::ordered_json& j) {
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  llama_like_to_hf(c, j);
}

}  // namespace

const Arch& llama_arch() {
  static const Arch arch{
      .name = "llama",
      .hf_model_types = {"llama", "mistral"},
      .hf_names =
          with(llama_attention_names(),
               {
                   {"model.layers.{L}.post_attention_layernorm.weight", "blk.{L}.ffn_norm.weight"},
                   {"model.layers.{L}.self_attn.o_proj.bias", "blk.{L}.attn_output.bias"},
               }),
      .hf_ignored = {"model.layers.{L}.self_attn.rotary_emb.inv_freq"},
      .gguf_rope_style = RopeStyle::normal,
      .hf_rope_style = RopeStyle::neox,
      .hf_norm_weight_offset = 0.0f,
      .defaults = defaults,
      .from_hf = from_hf,
      .to_hf = to_hf,
  };
  return arch;
}

}  // namespace slmkit::arch
