// GPT-2 family (gpt2, distilgpt2, DialoGPT): LayerNorm with biases, learned positions, fused QKV,
// GELU (tanh) MLP, tied head. Hugging Face stores Conv1D weights as [in, out].
#include "arch/families.h"

namespace slmkit::arch {
namespace {

void defaults(ModelConfig& c) {
  c.norm = NormKind::layer_norm;
  c.norm_bias = true;
  c.activation = Activation::gelu_tanh;
  c.gated_ffn = false;
  c.learned_positions = true;
  c.rope.style = RopeStyle::none;
  c.fused_qkv = true;
  c.attn_qkv_bias = c.attn_out_bias = c.ffn_bias = true;
  c.tied_embeddings = true;
}

void from_hf(const nlohmann::json& j, ModelConfig& c) {
  const std::string where = "gpt2 config.json";
  c.vocab_size = hf::get_int(j, "vocab_size", where);
  c.n_embd = hf::get_int(j, "n_embd", where);
  c.n_layer = checked_layer_count(hf::get_int(j, "n_layer", where), where);
  c.n_head = c.n_head_kv = hf::get_int(j, "n_head", where);
  c.head_dim = c.n_head > 0 ? c.n_embd / c.n_head : 0;
  c.n_ff = hf::get_int(j, "n_inner", 4 * c.n_embd);
  c.context_length = hf::get_int(j, "n_positions", hf::get_int(j, "n_ctx", int64_t{1024}));
  c.norm_eps = hf::get_double(j, "layer_norm_epsilon", 1e-5);
  const std::string act = j.value("activation_function", std::string("gelu_new"));
  c.activation = act == "gelu" ? Activation::gelu_erf : Activation::gelu_tanh;
  c.tied_embeddings = hf::get_bool(j, "tie_word_embeddings", true);
}

void to_hf(const ModelConfig& c, nlohmann::ordered_json& j) {
  j["architectures"] = {"GPT2LMHeadModel"};
  j["model_type"] = "gpt2";
  j["vocab_size"] = c.vocab_size;
  j["n_positions"] = c.context_length;
  j["n_ctx"] = c.context_length;
  j["n_embd"] = c.n_embd;
  j["n_layer"] = c.n_layer;
  j["n_head"] = c.n_head;
  j["n_inner"] = c.n_ff;
  j["activation_function"] = c.activation == Activation::gelu_erf ? "gelu" : "gelu_new";
  j["layer_norm_epsilon"] = c.norm_eps;
  j["tie_word_embeddings"] = c.tied_embeddings;
}

}  // namespace

const Arch& gpt2_arch() {
  static const Arch arch{
      .name = "gpt2",
      .hf_model_types = {"gpt2"},
      .hf_names =
          {
              {"wte.weight", "token_embd.weight"},
              {"wpe.weight", "position_embd.weight"},
              {"h.{L}.ln_1.weight", "blk.{L}.attn_norm.weight"},
              {"h.{L}.ln_1.bias", "blk.{L}.attn_norm.bias"},
              {"h.{L}.attn.c_attn.weight", "blk.{L}.attn_qkv.weight", true},
              {"h.{L}.attn.c_attn.bias", "blk.{L}.attn_qkv.bias"},
              {"h.{L}.attn.c_proj.weight", "blk.{L}.attn_output.weight", true},
              {"h.{L}.attn.c_proj.bias", "blk.{L}.attn_output.bias"},
              {"h.{L}.ln_2.weight", "blk.{L}.ffn_norm.weight"},
              {"h.{L}.ln_2.bias", "blk.{L}.ffn_norm.bias"},
              {"h.{L}.mlp.c_fc.weight", "blk.{L}.ffn_up.weight", true},
              {"h.{L}.mlp.c_fc.bias", "blk.{L}.ffn_up.bias"},
              {"h.{L}.mlp.c_proj.weight", "blk.{L}.ffn_down.weight", true},
              {"h.{L}.mlp.c_proj.bias", "blk.{L}.ffn_down.bias"},
              {"ln_f.weight", "output_norm.weight"},
              {"ln_f.bias", "output_norm.bias"},
              {"lm_head.weight", "output.weight"},
          },
      .hf_ignored = {"h.{L}.attn.bias", "h.{L}.attn.masked_bias"},
      .gguf_rope_style = RopeStyle::none,
      .hf_rope_style = RopeStyle::none,
      .hf_norm_weight_offset = 0.0f,
      .defaults = defaults,
      .from_hf = from_hf,
      .to_hf = to_hf,
  };
  return arch;
}

}  // namespace slmkit::arch
