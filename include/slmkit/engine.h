// The CPU inference engine: one generic decoder driven by ModelConfig (every family: LayerNorm or
// RMSNorm, GELU / SiLU, gated or plain FFN, learned positions or RoPE, MHA / GQA / MQA, QK-norm,
// sliding-window layers, soft-capping, biases, tied or separate output head).
//
//   Engine  = a Model's weights prepared for inference (matrices used in place from the mmap;
//             norm weights and biases converted to f32 once, with norm_weight_offset applied).
//             Immutable; any number of sessions may share one.
//   Session = one sequence being evaluated: its KV cache, activations and thread pool, all sized
//             when it is created, so evaluating a token allocates nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "slmkit/dtype.h"
#include "slmkit/model.h"
#include "slmkit/sampler.h"

namespace slmkit {

class Engine {
 public:
  // Checks every tensor the config implies (presence, shape, a storage type the kernels run:
  // F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) and throws Error
  // naming the tensor otherwise. Quantized matrices multiply activations quantized per row to
  // 8-bit blocks (Q8_0 / Q8_1 / Q8_K), as llama.cpp's CPU backend does.
  explicit Engine(Model model);
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  const Model& model() const;
  const ModelConfig& config() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

struct MatmulInput {
  std::string_view weight;  // "blk.0.attn_q.weight"; the token embedding for a tied output
  const float* rows = nullptr;
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  int64_t stride = 0;
};

struct SessionOptions {
  // KV cache positions. 0: the model's context length, at most 4096 (as llama.cpp's default).
  int64_t n_ctx = 0;
  // Most tokens one forward pass takes; longer inputs are evaluated in passes of this size.
  int64_t n_batch = 512;
  int n_threads = 0;  // 0: std::thread::hardware_concurrency()
  // F16 (llama.cpp's default) or F32. With F16, queries and attention weights are rounded onto
  // the F16 grid before their products with K and V, as llama.cpp does.
  DType kv_type = DType::F16;
  // Keep logits for every position (n_ctx x vocab floats), for perplexity and parity checks.
  bool all_logits = false;
  // GELU (tanh form) through llama.cpp's f16 table, as its CPU backend does (input and output
  // rounded to f16): on a tiny GPT-2, logits 1.5e-4 of their range from llama.cpp's become
  // 2e-5, and move that much away from the exact function. For parity checks.
  bool llama_cpp_gelu = false;
  // Called before every weight-matrix product with the matrix's tensor name and its f32 input
  // (n_rows token rows of n_cols, `stride` floats apart), as llama.cpp's eval callback sees
  // src1 of each MUL_MAT: for importance matrices (imatrix.h). Unset: no cost.
  std::function<void(const MatmulInput&)> on_matmul_input = nullptr;
};

class Session {
 public:
  // The engine must outlive the session and stay where it is (not be moved from).
  explicit Session(const Engine& engine, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Appends `tokens` at positions n_past().. and returns the logits predicting the next token:
  // [vocab] after the last token, or [tokens.size(), vocab] (row i after tokens[i]) when
  // all_logits (which needs SessionOptions::all_logits). The span stays valid until the next
  // call. Throws Error(invalid_input) for a token id outside the vocabulary and when the tokens
  // do not fit in the context (n_past() + tokens.size() > n_ctx()); the session is then
  // unchanged. There is no context shifting: clear() and start over.
  std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits = false);
  void clear();  // forget every position

  int64_t n_past() const;
  int64_t n_ctx() const;
  int64_t n_vocab() const;
  int n_threads() const;
  const Engine& engine() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

enum class StopReason {
  length,             // n_predict tokens were generated
  end_of_generation,  // a stop token was sampled
  callback,           // on_token returned false
  context_full,       // the next token would not fit in the context
};
const char* stop_reason_name(StopReason reason);

struct GenerateOptions {
  int64_t n_predict = 128;
  SamplerParams sampling;
  // Generation ends when one of these is sampled (it is not passed to on_token). Empty: the
  // model's eos_id, if it has one.
  std::vector<int32_t> stop_tokens;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, stop token excluded
  StopReason stop = StopReason::length;
  int64_t n_prompt = 0;
  int64_t n_decoded = 0;  // single-token forward passes after the prompt
  double prompt_seconds = 0;
  double decode_seconds = 0;  // sampling included
  double prompt_tokens_per_second() const;
  double decode_tokens_per_second() const;
};

// Evaluates `prompt` after whatever the session holds, then samples up to n_predict tokens,
// calling on_token(id) for each as soon as it is chosen (streaming); returning false stops.
GenerateResult generate(Session& session, std::span<const int32_t> prompt,
                        const GenerateOptions& options,
                        const std::function<bool(int32_t)>& on_token = {});

}  // namespace slmkit
