// Session internals: the KV cache, every activation buffer (sized for n_batch tokens when the
// session is made), the thread pool, and the decoder's forward pass over one batch of tokens.
// Buffers and worker handles come from the heap, or all from one Arena (the C API's sessions in
// caller memory; a measuring arena sizes that memory by running this same constructor).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "engine/buffer.h"
#include "engine/engine_impl.h"

namespace slmkit {

struct Session::Impl {
  const Engine* engine = nullptr;
  const Engine::Impl* e = nullptr;
  SessionOptions options;
  int64_t n_ctx = 0;
  int64_t n_batch = 0;
  int64_t n_past = 0;
  ThreadPool pool;

  // KV cache, per layer and KV head, both stored transposed: K[l][g][d][pos], V[l][g][d][pos].
  // A query's scores are then W^T q over the K rows (vectorized along positions, whatever the
  // head size), and the weighted sum of values is one dot product per V row.
  DType kv_type = DType::F16;
  size_t kv_elem_bytes = 2;
  engine::AlignedBuffer<std::byte> k_cache, v_cache;

  // Activations for up to n_batch tokens, row-major [token, feature].
  int64_t qkv_dim = 0;                 // q_dim + 2 kv_dim
  engine::AlignedBuffer<float> x;      // [n_batch, n_embd] residual stream
  engine::AlignedBuffer<float> xn;     // [n_batch, n_embd] normalized input of a block
  engine::AlignedBuffer<float> qkv;    // [n_batch, qkv_dim]
  engine::AlignedBuffer<float> att;    // [n_batch, q_dim] attention output (heads concatenated)
  engine::AlignedBuffer<float> proj;   // [n_batch, n_embd] attention / FFN output
  engine::AlignedBuffer<float> ff_a;   // [n_batch, n_ff] gate, then the activated product
  engine::AlignedBuffer<float> ff_b;   // [n_batch, n_ff] up
  static constexpr int kActSlots = 4;  // one converted copy per distinct activation format:
  // F16 grid, Q8_0, Q8_1 and Q8_K can meet in one file (K-quant fallbacks to legacy types)
  size_t act_row_bytes = 0;
  int n_act_slots = 0;  // formats the model's matrices take other than F32
  engine::AlignedBuffer<std::byte> act[kActSlots];
  engine::AlignedBuffer<float> rope_cos[2], rope_sin[2];  // [n_batch, rope_dims/2]: global, local
  // Per thread: scores [n_rep, n_ctx], rounded queries [n_rep, head_dim].
  int64_t scratch_floats = 0;
  engine::AlignedBuffer<float> scratch;
  engine::AlignedBuffer<float> logits;  // [n_ctx or 1, vocab]

  // arena: where every buffer and the pool's worker handles go (null: the heap). hooks: how the
  // pool starts its threads (null: std::thread).
  Impl(const Engine& engine, const SessionOptions& options, Arena* arena = nullptr,
       const ThreadHooks* hooks = nullptr);

  std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits);

  // One forward pass over tokens at positions pos0..; logits for every token into
  // logits_out[t * vocab] when all, else for the last token only into logits_out.
  void forward(const int32_t* tokens, int64_t n, int64_t pos0, bool all, float* logits_out);

  // Below this many multiply-adds (a few microseconds) a fork/join costs more than it saves,
  // and far more when the machine is busy and a worker waits to be scheduled.
  static constexpr int64_t kMinParallelMacs = int64_t{1} << 16;

  // Parts of the forward pass (attention.cpp holds the attention ones).
  struct MatmulJob {
    const engine::Linear* linear;
    float* out;
    int64_t out_stride;
  };
  void run_matmuls(std::span<const MatmulJob> jobs, const float* in, int64_t in_stride,
                   int64_t n_tokens);
  void embed(const int32_t* tokens, int64_t n_tokens, int64_t pos0);
  void rope_tables(int64_t n_tokens, int64_t pos0);
  void attention_block(int64_t layer, int64_t n_tokens, int64_t pos0);
  void ffn_block(int64_t layer, int64_t n_tokens);
  void add_to_residual(int64_t n_tokens);  // x += proj
  void normalize(const engine::Norm& norm, const float* in, float* out, int64_t n_tokens);
  // fn(t) for every token, on the pool when there is enough work (work_per_token is a rough
  // count of the elements fn touches). A template, not std::function: nothing is allocated.
  template <typename Fn>
  void for_tokens(int64_t n_tokens, int64_t work_per_token, Fn&& fn) {
    if (n_tokens == 1 || n_tokens * work_per_token < 16384) {
      for (int64_t t = 0; t < n_tokens; ++t) fn(t);
      return;
    }
    pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) fn(t);
    });
  }
  void store_kv(int64_t layer, int64_t n_tokens, int64_t pos0);
  void attention(int64_t layer, int64_t n_tokens, int64_t pos0);

  std::byte* k_row(int64_t layer, int64_t g, int64_t d);  // K^T row d of KV head g
  std::byte* v_row(int64_t layer, int64_t g, int64_t d);  // V^T row d of KV head g
};

}  // namespace slmkit
