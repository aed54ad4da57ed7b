// The architecture-neutral model: one config and a set of named tensors. Every reader produces
// it; the engine, the quantizer and the exporters consume it. Tensor names follow one scheme of
// our own (GGUF's names, so llama.cpp users recognize them):
//   token_embd.weight                 [vocab, n_embd]
//   position_embd.weight              [n_ctx, n_embd]           learned positions (GPT-2)
//   blk.N.attn_norm.{weight,bias}     [n_embd]
//   blk.N.attn_q.{weight,bias}        [n_head * head_dim, n_embd]
//   blk.N.attn_k.{weight,bias}        [n_head_kv * head_dim, n_embd]
//   blk.N.attn_v.{weight,bias}        [n_head_kv * head_dim, n_embd]
//   blk.N.attn_qkv.{weight,bias}      [(n_head + 2 n_head_kv) * head_dim, n_embd]  (GPT-2 fused)
//   blk.N.attn_q_norm.weight          [head_dim]                QK-norm
//   blk.N.attn_k_norm.weight          [head_dim]
//   blk.N.attn_output.{weight,bias}   [n_embd, n_head * head_dim]
//   blk.N.post_attention_norm.weight  [n_embd]                  Gemma's sandwich norms
//   blk.N.ffn_norm.{weight,bias}      [n_embd]
//   blk.N.ffn_gate.weight             [n_ff, n_embd]            gated FFNs only
//   blk.N.ffn_up.{weight,bias}        [n_ff, n_embd]
//   blk.N.ffn_down.{weight,bias}      [n_embd, n_ff]
//   blk.N.post_ffw_norm.weight        [n_embd]
//   output_norm.{weight,bias}         [n_embd]
//   output.weight                     [vocab, n_embd]           absent when tied
//   rope_freqs.weight                 [rope.n_dims / 2]         Llama 3 RoPE scaling, from GGUF
// Matrices are [out_features, in_features] (PyTorch's nn.Linear order); GPT-2's Conv1D weights
// are transposed on read so every family has the same orientation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/tensor.h"
#include "slmkit/vocab.h"

namespace slmkit {

enum class NormKind { layer_norm, rms_norm };
enum class Activation { gelu_tanh, gelu_erf, silu };
// normal: rotate adjacent pairs (x0,x1),(x2,x3)... (GPT-J, llama.cpp's LLAMA, llama2.c);
// neox:   rotate the halves (x_i, x_{i+d/2}) (Hugging Face's rotate_half, Qwen2, Gemma, GPT-NeoX).
enum class RopeStyle { none, normal, neox };
enum class RopeScaling { none, linear, llama3 };
enum class AttentionKind { global, sliding };

struct RopeConfig {
  RopeStyle style = RopeStyle::none;
  int64_t n_dims = 0;                // rotated dimensions per head (head_dim unless partial)
  double freq_base = 10000.0;        // global layers
  double freq_base_local = 10000.0;  // sliding-window layers (Gemma 3: 10,000 vs 1,000,000)
  RopeScaling scaling = RopeScaling::none;
  double scaling_factor = 1.0;          // linear / llama3 "factor"
  double low_freq_factor = 1.0;         // llama3
  double high_freq_factor = 4.0;        // llama3
  int64_t original_context_length = 0;  // llama3
};

struct ModelConfig {
  std::string arch;  // "gpt2" | "llama" | "gemma3" | "qwen2"
  std::string name;  // human name, e.g. "stories260K"
  int64_t vocab_size = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t context_length = 0;

  NormKind norm = NormKind::rms_norm;
  double norm_eps = 1e-5;
  // Gemma stores RMSNorm weights w and scales by (1 + w); GGUF files store (1 + w). The engine
  // adds this offset to every norm weight at load.
  float norm_weight_offset = 0.0f;
  bool sandwich_norm = false;  // post-attention and post-FFN norms (Gemma 2/3)
  bool qk_norm = false;        // RMSNorm on each head's q and k (Gemma 3, Qwen3)

  Activation activation = Activation::silu;
  bool gated_ffn = true;  // down(act(gate(x)) * up(x)) instead of down(act(up(x)))

  bool learned_positions = false;  // GPT-2: position_embd.weight
  RopeConfig rope;
  std::vector<AttentionKind> layer_attention;  // one entry per layer
  int64_t sliding_window = 0;                  // tokens, for sliding layers
  double attn_scale = 0.0;                     // softmax scale; 0 means 1/sqrt(head_dim)
  double attn_logit_softcap = 0.0;             // 0: none
  double final_logit_softcap = 0.0;            // 0: none
  double embed_scale = 1.0;                    // token embeddings are multiplied by this

  bool tied_embeddings = false;  // output head is token_embd.weight
  bool fused_qkv = false;        // one attn_qkv matrix (GPT-2) instead of attn_q/k/v
  bool attn_qkv_bias = false;
  bool attn_out_bias = false;
  bool ffn_bias = false;
  bool norm_bias = false;  // LayerNorm with bias

  // Special token ids of the model (also in Vocab); -1 when the model has none.
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t pad_id = -1;

  // llama_ftype to write as general.file_type (15 = Q4_K_M, ...), set by quantize_model; -1:
  // inferred from the tensors' types when writing.
  int32_t file_type = -1;
};

// Where a model came from and anything the source said that is not a hyper-parameter.
struct ModelSource {
  std::string format;  // "gguf" | "hf" | "llama2c"
  std::filesystem::path path;
  nlohmann::ordered_json metadata;  // GGUF key-values, or config.json (+ safetensors metadata)
  bool synthetic = false;           // random weights written by `slmkit synth`
};

enum class ModelFormat { gguf, hf };

class Model {
 public:
  ModelConfig config;
  Vocab vocab;
  ModelSource source;

  const std::vector<Tensor>& tensors() const { return tensors_; }
  const Tensor* find(const std::string& name) const;
  const Tensor& get(const std::string& name) const;  // Error(invalid_input) if absent
  void add(Tensor tensor);                           // Error(invalid_input) on a duplicate name
  void remove(const std::string& name);

  // Parameters counted once: a stored output.weight that is byte-identical to token_embd.weight
  // is a copy of the tied classifier, not extra parameters.
  int64_t n_parameters() const;
  int64_t n_stored_elements() const;
  uint64_t n_bytes() const;

 private:
  std::vector<Tensor> tensors_;
  std::map<std::string, size_t> index_;
};

struct LoadOptions {
  // llama2.c checkpoints carry no vocabulary: the tokenizer.bin to pair with one. Empty means
  // "tokenizer.bin" or "tok<vocab>.bin" beside the checkpoint, if present.
  std::filesystem::path llama2c_tokenizer;
};

// Reads a GGUF file, a Hugging Face folder (config.json + safetensors) or a llama2.c checkpoint,
// detected from the content, and checks the tensors against the config of its architecture.
Model load_model(const std::filesystem::path& path, const LoadOptions& options = {});

// Writes a model as a GGUF file (tensors in their stored types) or as a Hugging Face folder
// (config.json, model.safetensors, tokenizer files), converting each family's conventions (RoPE
// row order, Gemma's norm offset, GPT-2's Conv1D orientation) to what that format's readers expect.
// Written under a temporary name and renamed when complete.
void save_model(const Model& model, const std::filesystem::path& path, ModelFormat format);

}  // namespace slmkit
