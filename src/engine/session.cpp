// Session: buffers sized at creation, and the generic decoder's forward pass. One pass per
// batch of up to n_batch tokens; every matrix product takes the whole batch (GEMM-shaped
// prefill), a decode step is the same code with one token.
#include <algorithm>
#include <cmath>

#include "core/fail.h"
#include "engine/rope_angles.h"
#include "engine/session_impl.h"

namespace slmkit {

using engine::AlignedBuffer;
using engine::Linear;
using engine::Norm;

namespace {

int64_t default_n_ctx(const Engine::Impl& e) {
  const int64_t trained = e.model.config.context_length;
  int64_t n = trained > 0 ? std::min<int64_t>(trained, 4096) : 4096;
  if (e.max_positions > 0) n = std::min(n, e.max_positions);
  return n;
}

}  // namespace

Session::Impl::Impl(const Engine& eng, const SessionOptions& opts, Arena* arena,
                    const ThreadHooks* hooks)
    : engine(&eng), e(&eng.impl()), options(opts), pool(opts.n_threads, 100, hooks, arena) {
  n_ctx = options.n_ctx > 0 ? options.n_ctx : default_n_ctx(*e);
  if (n_ctx > (int64_t{1} << 24)) fail_invalid("session: n_ctx {} is too large", n_ctx);
  if (e->max_positions > 0 && n_ctx > e->max_positions) {
    fail_invalid("{}: n_ctx {} exceeds the model's {} learned positions", e->where, n_ctx,
                 e->max_positions);
  }
  n_batch = std::clamp<int64_t>(options.n_batch > 0 ? options.n_batch : 512, 1, n_ctx);

  kv_type = options.kv_type;
  if (kv_type != DType::F16 && kv_type != DType::F32) {
    fail_unsupported("session: KV cache type {} (F16 and F32 are supported)", dtype_name(kv_type));
  }
  kv_elem_bytes = kv_type == DType::F16 ? 2 : 4;
  const auto n_layer = static_cast<size_t>(e->layers.size());
  const size_t kv_elems = n_layer * static_cast<size_t>(e->kv_dim) * static_cast<size_t>(n_ctx);
  k_cache = AlignedBuffer<std::byte>(kv_elems * kv_elem_bytes, arena);
  v_cache = AlignedBuffer<std::byte>(kv_elems * kv_elem_bytes, arena);

  const auto B = static_cast<size_t>(n_batch);
  qkv_dim = e->q_dim + 2 * e->kv_dim;
  x = AlignedBuffer<float>(B * static_cast<size_t>(e->n_embd), arena);
  xn = AlignedBuffer<float>(B * static_cast<size_t>(e->n_embd), arena);
  qkv = AlignedBuffer<float>(B * static_cast<size_t>(qkv_dim), arena);
  att = AlignedBuffer<float>(B * static_cast<size_t>(e->q_dim), arena);
  proj = AlignedBuffer<float>(B * static_cast<size_t>(e->n_embd), arena);
  ff_a = AlignedBuffer<float>(B * static_cast<size_t>(e->n_ff), arena);
  ff_b = AlignedBuffer<float>(B * static_cast<size_t>(e->n_ff), arena);

  // Converted activations: the widest matrix input, in the largest format any matrix needs, one
  // buffer per distinct format (F32 inputs are read as they are: an all-F32 model needs none).
  const int64_t widest = std::max({e->n_embd, e->q_dim, e->n_ff});
  DType formats[kActSlots] = {};
  auto consider = [&](const Linear& lin) {
    if (!lin.present() || lin.kernels->activation == DType::F32) return;
    act_row_bytes = std::max(act_row_bytes, lin.kernels->activation_bytes(widest));
    if (std::find(formats, formats + n_act_slots, lin.kernels->activation) ==
            formats + n_act_slots &&
        n_act_slots < kActSlots) {
      formats[n_act_slots++] = lin.kernels->activation;
    }
  };
  for (const engine::LayerWeights& L : e->layers) {
    for (const Linear* lin :
         {&L.qkv, &L.q, &L.k, &L.v, &L.attn_output, &L.ffn_gate, &L.ffn_up, &L.ffn_down}) {
      consider(*lin);
    }
  }
  consider(e->output);
  act_row_bytes = (act_row_bytes + 63) / 64 * 64;
  for (int i = 0; i < n_act_slots; ++i) act[i] = AlignedBuffer<std::byte>(B * act_row_bytes, arena);

  if (e->rope_dims > 0) {
    for (int i = 0; i < 2; ++i) {
      rope_cos[i] = AlignedBuffer<float>(B * static_cast<size_t>(e->rope_dims / 2), arena);
      rope_sin[i] = AlignedBuffer<float>(B * static_cast<size_t>(e->rope_dims / 2), arena);
    }
  }
  // Rounded queries are padded to a cache line so that the scores of each thread start on one.
  scratch_floats = (e->n_rep * n_ctx + e->n_rep * e->head_dim + 15) / 16 * 16;
  scratch = AlignedBuffer<float>(static_cast<size_t>(pool.size() * scratch_floats), arena);
  logits = AlignedBuffer<float>(
      static_cast<size_t>(options.all_logits ? n_ctx : 1) * static_cast<size_t>(e->n_vocab), arena);
}

void Session::Impl::normalize(const Norm& norm, const float* in, float* out, int64_t n_tokens) {
  const int64_t n = e->n_embd;
  const auto eps = static_cast<float>(e->model.config.norm_eps);
  const bool layer_norm = e->model.config.norm == NormKind::layer_norm;
  for_tokens(n_tokens, n, [&](int64_t t) {
    if (layer_norm) {
      kernels::layer_norm(in + t * n, norm.weight, norm.bias, eps, out + t * n, n);
    } else {
      kernels::rms_norm(in + t * n, norm.weight, eps, out + t * n, n);
    }
  });
}

void Session::Impl::run_matmuls(std::span<const MatmulJob> jobs, const float* in, int64_t in_stride,
                                int64_t n_tokens) {
  if (options.on_matmul_input) {
    for (const MatmulJob& job : jobs) {
      options.on_matmul_input(
          MatmulInput{job.linear->name, in, n_tokens, job.linear->cols(), in_stride});
    }
  }
  // Convert the input once per distinct activation format (F32 needs no copy).
  constexpr size_t kMaxJobs = 4;
  if (jobs.size() > kMaxJobs) fail(ErrorKind::internal, "engine: {} matmul jobs", jobs.size());
  const void* job_act[kMaxJobs];
  int64_t job_act_stride[kMaxJobs];
  const kernels::WeightKernels* slot_kind[kActSlots] = {};
  int slots_used = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const Linear& lin = *jobs[j].linear;
    if (lin.kernels->activation == DType::F32) {
      job_act[j] = in;
      job_act_stride[j] = in_stride * static_cast<int64_t>(sizeof(float));
      continue;
    }
    int slot = 0;
    while (slot < slots_used && slot_kind[slot]->activation != lin.kernels->activation) ++slot;
    if (slot == slots_used) {
      if (slots_used == n_act_slots) {
        fail(ErrorKind::internal, "engine: too many activation formats");
      }
      slot_kind[slots_used++] = lin.kernels;
      std::byte* dst = act[slot].data();
      const int64_t cols = lin.cols();
      for_tokens(n_tokens, cols, [&](int64_t t) {
        lin.kernels->convert_activation(in + t * in_stride, cols,
                                        dst + static_cast<size_t>(t) * act_row_bytes);
      });
    }
    job_act[j] = act[slot].data();
    job_act_stride[j] = static_cast<int64_t>(act_row_bytes);
  }

  int64_t total_rows = 0, macs = 0;
  for (const MatmulJob& job : jobs) {
    total_rows += job.linear->rows();
    macs += job.linear->rows() * job.linear->cols() * n_tokens;
  }
  auto rows = [&](int64_t begin, int64_t end, int) {
    int64_t offset = 0;
    for (size_t j = 0; j < jobs.size(); ++j) {
      const MatmulJob& job = jobs[j];
      const Linear& lin = *job.linear;
      const int64_t r0 = std::max<int64_t>(begin - offset, 0);
      const int64_t r1 = std::min<int64_t>(end - offset, lin.rows());
      offset += lin.rows();
      if (r0 >= r1) continue;
      lin.kernels->matmul(lin.w, job_act[j], job_act_stride[j], n_tokens, job.out, job.out_stride,
                          r0, r1);
      if (lin.bias) {
        for (int64_t t = 0; t < n_tokens; ++t) {
          float* y = job.out + t * job.out_stride + r0;
          kernels::add(y, lin.bias + r0, y, r1 - r0);
        }
      }
    }
  };
  if (macs < kMinParallelMacs) {
    rows(0, total_rows, 0);
  } else {
    pool.parallel_for(total_rows, rows, 16);
  }
}

void Session::Impl::embed(const int32_t* tokens, int64_t n, int64_t pos0) {
  const int64_t E = e->n_embd;
  const auto embed_scale = static_cast<float>(e->model.config.embed_scale);
  for_tokens(n, E, [&](int64_t t) {
    float* xt = x.data() + t * E;
    const Linear& emb = e->token_embd;
    emb.kernels->row_of(emb.w, tokens[t], xt);
    if (embed_scale != 1.0f) kernels::scale(xt, embed_scale, xt, E);
    if (e->position_embd.present()) {
      float* tmp = xn.data() + t * E;
      e->position_embd.kernels->row_of(e->position_embd.w, pos0 + t, tmp);
      kernels::add(xt, tmp, xt, E);
    }
  });
}

void Session::Impl::rope_tables(int64_t n, int64_t pos0) {
  if (e->rope_dims == 0) return;
  const ModelConfig& c = e->model.config;
  engine::RopeFrequencies global;
  global.n_dims = e->rope_dims;
  global.freq_base = static_cast<float>(c.rope.freq_base);
  if (c.rope.scaling == RopeScaling::linear) {
    global.freq_scale = static_cast<float>(1.0 / c.rope.scaling_factor);
  }
  global.factors = e->rope_freq_factors;
  engine::rope_angles(global, pos0, n, rope_cos[0].data(), rope_sin[0].data());
  const bool any_sliding = std::any_of(e->layers.begin(), e->layers.end(),
                                       [](const engine::LayerWeights& L) { return L.sliding; });
  if (any_sliding) {
    engine::RopeFrequencies local;  // sliding layers: their own base, no scaling (Gemma 3)
    local.n_dims = e->rope_dims;
    local.freq_base = static_cast<float>(c.rope.freq_base_local);
    engine::rope_angles(local, pos0, n, rope_cos[1].data(), rope_sin[1].data());
  }
}

void Session::Impl::add_to_residual(int64_t n) {
  const int64_t E = e->n_embd;
  for_tokens(n, E, [&](int64_t t) {
    kernels::add(x.data() + t * E, proj.data() + t * E, x.data() + t * E, E);
  });
}

void Session::Impl::attention_block(int64_t layer, int64_t n, int64_t pos0) {
  const ModelConfig& c = e->model.config;
  const engine::LayerWeights& L = e->layers[static_cast<size_t>(layer)];
  const int64_t E = e->n_embd;
  const int64_t k_off = e->q_dim, v_off = e->q_dim + e->kv_dim;
  normalize(L.attn_norm, x.data(), xn.data(), n);
  if (L.qkv.present()) {
    const MatmulJob jobs[] = {{&L.qkv, qkv.data(), qkv_dim}};
    run_matmuls(jobs, xn.data(), E, n);
  } else {
    const MatmulJob jobs[] = {{&L.q, qkv.data(), qkv_dim},
                              {&L.k, qkv.data() + k_off, qkv_dim},
                              {&L.v, qkv.data() + v_off, qkv_dim}};
    run_matmuls(jobs, xn.data(), E, n);
  }
  // QK-norm, then RoPE, on each token's query and key heads.
  const auto eps = static_cast<float>(c.norm_eps);
  const int rope_table = L.sliding ? 1 : 0;
  const bool neox = c.rope.style == RopeStyle::neox;
  const int64_t hd = e->head_dim;
  for_tokens(n, qkv_dim, [&](int64_t t) {
    float* q = qkv.data() + t * qkv_dim;
    float* k = q + k_off;
    if (L.q_norm) {
      for (int64_t h = 0; h < e->n_head; ++h) {
        kernels::rms_norm(q + h * hd, L.q_norm, eps, q + h * hd, hd);
      }
      for (int64_t h = 0; h < e->n_head_kv; ++h) {
        kernels::rms_norm(k + h * hd, L.k_norm, eps, k + h * hd, hd);
      }
    }
    if (e->rope_dims > 0) {
      const float* cs = rope_cos[rope_table].data() + t * (e->rope_dims / 2);
      const float* sn = rope_sin[rope_table].data() + t * (e->rope_dims / 2);
      kernels::rope(q, e->n_head, hd, e->rope_dims, cs, sn, neox);
      kernels::rope(k, e->n_head_kv, hd, e->rope_dims, cs, sn, neox);
    }
  });
  store_kv(layer, n, pos0);
  attention(layer, n, pos0);
  const MatmulJob jobs[] = {{&L.attn_output, proj.data(), E}};
  run_matmuls(jobs, att.data(), e->q_dim, n);
  if (L.post_attention_norm.present()) {
    normalize(L.post_attention_norm, proj.data(), proj.data(), n);
  }
  add_to_residual(n);
}

void Session::Impl::ffn_block(int64_t layer, int64_t n) {
  const engine::LayerWeights& L = e->layers[static_cast<size_t>(layer)];
  const int64_t E = e->n_embd, F = e->n_ff;
  normalize(L.ffn_norm, x.data(), xn.data(), n);
  const bool gated = L.ffn_gate.present();
  if (gated) {
    const MatmulJob jobs[] = {{&L.ffn_gate, ff_a.data(), F}, {&L.ffn_up, ff_b.data(), F}};
    run_matmuls(jobs, xn.data(), E, n);
  } else {
    const MatmulJob jobs[] = {{&L.ffn_up, ff_a.data(), F}};
    run_matmuls(jobs, xn.data(), E, n);
  }
  const Activation activation = e->model.config.activation;
  for_tokens(n, F, [&](int64_t t) {
    float* a = ff_a.data() + t * F;
    switch (activation) {
      case Activation::silu:
        kernels::silu(a, a, F);
        break;
      case Activation::gelu_tanh:
        if (options.llama_cpp_gelu) {
          kernels::gelu_tanh_f16_table(a, a, F);
        } else {
          kernels::gelu_tanh(a, a, F);
        }
        break;
      case Activation::gelu_erf:
        kernels::gelu_erf(a, a, F);
        break;
    }
    if (gated) kernels::mul(a, ff_b.data() + t * F, a, F);
  });
  const MatmulJob jobs[] = {{&L.ffn_down, proj.data(), E}};
  run_matmuls(jobs, ff_a.data(), F, n);
  if (L.post_ffw_norm.present()) normalize(L.post_ffw_norm, proj.data(), proj.data(), n);
  add_to_residual(n);
}

void Session::Impl::forward(const int32_t* tokens, int64_t n, int64_t pos0, bool all,
                            float* logits_out) {
  embed(tokens, n, pos0);
  rope_tables(n, pos0);
  for (size_t l = 0; l < e->layers.size(); ++l) {
    attention_block(static_cast<int64_t>(l), n, pos0);
    ffn_block(static_cast<int64_t>(l), n);
  }
  // Output head, only for the tokens whose logits are wanted.
  const int64_t E = e->n_embd, V = e->n_vocab;
  const int64_t first = all ? 0 : n - 1;
  const int64_t n_out = n - first;
  normalize(e->output_norm, x.data() + first * E, xn.data(), n_out);
  const MatmulJob jobs[] = {{&e->output, logits_out, V}};
  run_matmuls(jobs, xn.data(), E, n_out);
  const double cap = e->model.config.final_logit_softcap;
  if (cap > 0) {
    for_tokens(n_out, V, [&](int64_t t) {
      kernels::softcap(logits_out + t * V, static_cast<float>(cap), logits_out + t * V, V);
    });
  }
}

std::span<const float> Session::Impl::eval(std::span<const int32_t> tokens, bool all) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) fail_invalid("eval: no tokens");
  if (all && !options.all_logits) {
    fail_invalid("eval: logits of every position need SessionOptions::all_logits");
  }
  if (n_past + n > n_ctx) {
    fail_invalid(
        "eval: {} more tokens do not fit in the context: {} of {} positions are used "
        "(make the session with a larger n_ctx, or clear() it)",
        n, n_past, n_ctx);
  }
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[static_cast<size_t>(i)] < 0 || tokens[static_cast<size_t>(i)] >= e->n_vocab) {
      fail_invalid("eval: token id {} at index {} is outside the vocabulary [0, {})",
                   tokens[static_cast<size_t>(i)], i, e->n_vocab);
    }
  }
  const int64_t V = e->n_vocab;
  for (int64_t done = 0; done < n; done += n_batch) {
    const int64_t m = std::min(n_batch, n - done);
    const bool last = done + m == n;
    if (!all && !last) {
      // Earlier batches only fill the KV cache; their last token's logits are overwritten.
      forward(tokens.data() + done, m, n_past, false, logits.data());
    } else {
      forward(tokens.data() + done, m, n_past, all, all ? logits.data() + done * V : logits.data());
    }
    n_past += m;
  }
  return {logits.data(), static_cast<size_t>((all ? n : 1) * V)};
}

Session::Session(const Engine& engine, const SessionOptions& options)
    : impl_(std::make_unique<Impl>(engine, options)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

std::span<const float> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  return impl_->eval(tokens, all_logits);
}
void Session::clear() {
  impl_->n_past = 0;
}
int64_t Session::n_past() const {
  return impl_->n_past;
}
int64_t Session::n_ctx() const {
  return impl_->n_ctx;
}
int64_t Session::n_vocab() const {
  return impl_->e->n_vocab;
}
int Session::n_threads() const {
  return impl_->pool.size();
}
const Engine& Session::engine() const {
  return *impl_->engine;
}

}  // namespace slmkit
