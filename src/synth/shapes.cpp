#include "synth/shapes.h"

#include <cmath>

#include "arch/arch.h"
#include "core/fail.h"

namespace slmkit::synth {

const std::vector<ShapeSpec>& shapes() {
  // name, arch, tokenizer, vocab, n_embd, layers, heads, kv heads, head_dim, n_ff, ctx, eps, rope
  // base, tied, window
  static const std::vector<ShapeSpec> table = {
      {"tiny", "gpt2", "gpt2/encoder.json", 50257, 64, 2, 4, 4, 16, 256, 256, 1e-5, 0, true, 0},
      {"distilgpt2", "gpt2", "gpt2/encoder.json", 50257, 768, 6, 12, 12, 64, 3072, 1024, 1e-5, 0,
       true, 0},
      {"gpt2", "gpt2", "gpt2/encoder.json", 50257, 768, 12, 12, 12, 64, 3072, 1024, 1e-5, 0, true,
       0},
      {"tiny", "llama", "llama2-spm/tokenizer.model", 32000, 64, 2, 4, 2, 16, 192, 256, 1e-5, 10000,
       false, 0},
      {"tinyllama-1.1b", "llama", "llama2-spm/tokenizer.model", 32000, 2048, 22, 32, 4, 64, 5632,
       2048, 1e-5, 10000, false, 0},
      {"llama-3.2-1b", "llama", "hf/llama3/tokenizer.json", 128256, 2048, 16, 32, 8, 64, 8192,
       131072, 1e-5, 500000, true, 0},
      {"tiny", "gemma3", "hf/gemma3/tokenizer.json", 262144, 64, 6, 2, 1, 32, 128, 256, 1e-6,
       1000000, true, 16},
      {"gemma-3-270m", "gemma3", "hf/gemma3/tokenizer.json", 262144, 640, 18, 4, 1, 256, 2048,
       32768, 1e-6, 1000000, true, 512},
      {"tiny", "qwen2", "hf/qwen3/tokenizer.json", 151936, 64, 2, 4, 2, 16, 160, 256, 1e-6, 1000000,
       true, 0},
      {"qwen2-0.5b", "qwen2", "hf/qwen3/tokenizer.json", 151936, 896, 24, 14, 2, 64, 4864, 32768,
       1e-6, 1000000, true, 0},
  };
  return table;
}

const ShapeSpec* find_shape(std::string_view arch, std::string_view name) {
  for (const ShapeSpec& s : shapes()) {
    if (s.arch == arch && s.name == name) return &s;
  }
  return nullptr;
}

ModelConfig shape_config(const ShapeSpec& s) {
  const arch::Arch* a = arch::find(s.arch);
  if (!a) fail(ErrorKind::internal, "shape '{}' names unknown architecture '{}'", s.name, s.arch);
  ModelConfig c;
  c.arch = std::string(s.arch);
  c.name = "synthetic-" +
           std::string(s.name == "tiny" ? std::string(s.arch) + "-tiny" : std::string(s.name));
  a->defaults(c);
  c.vocab_size = s.vocab_size;
  c.n_embd = s.n_embd;
  c.n_layer = s.n_layer;
  c.n_head = s.n_head;
  c.n_head_kv = s.n_head_kv;
  c.head_dim = s.head_dim;
  c.n_ff = s.n_ff;
  c.context_length = s.context_length;
  c.norm_eps = s.norm_eps;
  c.tied_embeddings = s.tied;
  c.layer_attention.assign(static_cast<size_t>(s.n_layer), AttentionKind::global);
  if (c.rope.style != RopeStyle::none) {
    c.rope.style = a->hf_rope_style;  // generated in the Hugging Face convention
    c.rope.freq_base = s.rope_base;
    c.rope.n_dims = s.head_dim;
  }
  if (s.name == "llama-3.2-1b") {
    c.rope.scaling = RopeScaling::llama3;
    c.rope.scaling_factor = 32.0;
    c.rope.low_freq_factor = 1.0;
    c.rope.high_freq_factor = 4.0;
    c.rope.original_context_length = 8192;
  }
  if (s.arch == "gemma3") {
    c.sliding_window = s.sliding_window;
    for (int64_t l = 0; l < s.n_layer; ++l) {
      if (l % 6 < 5) c.layer_attention[static_cast<size_t>(l)] = AttentionKind::sliding;
    }
    c.embed_scale = std::sqrt(static_cast<double>(s.n_embd));
    c.attn_scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  }
  return c;
}

}  // namespace slmkit::synth
