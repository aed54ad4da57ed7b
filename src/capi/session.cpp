// Sessions in one arena: sizing, creation, decoding, sampling, reset and truncation. Everything
// a session touches after slm_session_create was carved from its arena there.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "capi/capi_impl.h"
#include "core/fail.h"

using slmkit::capi::fail_with;
using slmkit::capi::guarded;

namespace slmkit::capi {
namespace {

constexpr int32_t kMaxThreads = 512;

SamplerParams sampler_params(const slm_sampler_params& p) {
  SamplerParams s;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  s.repeat_penalty = p.repeat_penalty;
  s.repeat_last_n = p.repeat_last_n;
  s.seed = p.seed;
  return s;
}

void check_params(const slm_session_params& p) {
  if (p.n_ctx < 0) fail_invalid("session params: n_ctx {} is negative", p.n_ctx);
  if (p.n_threads < 0 || p.n_threads > kMaxThreads) {
    fail_invalid("session params: n_threads {} is outside [0, {}]", p.n_threads, kMaxThreads);
  }
  if (p.n_batch < 0) fail_invalid("session params: n_batch {} is negative", p.n_batch);
  if (p.kv_type != SLM_KV_F16 && p.kv_type != SLM_KV_F32) {
    fail_invalid("session params: kv_type {} is not SLM_KV_F16 (0) or SLM_KV_F32 (1)", p.kv_type);
  }
  if (p.threads && (!p.threads->start || !p.threads->join)) {
    fail_invalid("session params: thread hooks need both start and join");
  }
}

SessionOptions engine_options(const slm_session_params& p) {
  SessionOptions o;
  o.n_ctx = p.n_ctx;
  o.n_batch = p.n_batch;
  o.n_threads = p.n_threads;
  o.kv_type = p.kv_type == SLM_KV_F32 ? DType::F32 : DType::F16;
  return o;
}

ThreadHooks thread_hooks(const slm_thread_hooks* h) {
  return h ? ThreadHooks{h->start, h->join, h->user} : ThreadHooks{};
}

// The session's own struct comes first in its arena, then whatever its constructor carves.
size_t measure(const slm_model& model, const slm_session_params& params) {
  Arena counter;
  counter.take(sizeof(slm_session), alignof(slm_session));
  const slm_session probe(model, params, counter);
  return counter.used();
}

}  // namespace
}  // namespace slmkit::capi

slm_session::slm_session(const slm_model& m, const slm_session_params& p, slmkit::Arena& arena)
    : model(&m),
      hooks(slmkit::capi::thread_hooks(p.threads)),
      engine(*m.engine, slmkit::capi::engine_options(p), &arena, p.threads ? &hooks : nullptr),
      sampler(slmkit::capi::sampler_params(p.sampler)),
      rng(static_cast<std::mt19937_64*>(
          arena.take(sizeof(std::mt19937_64), alignof(std::mt19937_64)))),
      tokens(static_cast<size_t>(engine.n_ctx), &arena),
      sample_logits(static_cast<size_t>(engine.e->n_vocab), &arena),
      candidates(static_cast<size_t>(engine.e->n_vocab), &arena),
      penalized(static_cast<size_t>(engine.n_ctx), &arena) {
  if (rng) new (rng) std::mt19937_64(p.sampler.seed);  // null when the arena only measures
}

extern "C" {

slm_session_params slm_session_default_params(void) {
  const slmkit::SamplerParams s;
  slm_session_params p;
  p.n_ctx = 0;
  p.n_threads = 1;
  p.n_batch = 0;
  p.kv_type = SLM_KV_F16;
  p.sampler = slm_sampler_params{s.temperature,    s.top_k,         s.top_p, s.min_p,
                                 s.repeat_penalty, s.repeat_last_n, s.seed};
  p.threads = nullptr;
  return p;
}

size_t slm_session_arena_bytes(const slm_model* model, const slm_session_params* params) {
  size_t bytes = 0;
  guarded(SLM_ERR_INVALID_ARGUMENT, [&] {
    if (!model) slmkit::fail_invalid("slm_session_arena_bytes: model is NULL");
    const slm_session_params p = params ? *params : slm_session_default_params();
    slmkit::capi::check_params(p);
    bytes = slmkit::capi::measure(*model, p);
    return SLM_OK;
  });
  return bytes;
}

slm_status slm_session_create(const slm_model* model, const slm_session_params* params, void* arena,
                              size_t arena_bytes, slm_session** out) {
  if (!out) return fail_with(SLM_ERR_INVALID_ARGUMENT, "slm_session_create: out is NULL");
  *out = nullptr;
  if (!model) return fail_with(SLM_ERR_INVALID_ARGUMENT, "slm_session_create: model is NULL");
  if (arena && reinterpret_cast<uintptr_t>(arena) % SLM_ARENA_ALIGNMENT != 0) {
    return fail_with(SLM_ERR_INVALID_ARGUMENT,
                     "slm_session_create: the arena must start at a multiple of "
                     "SLM_ARENA_ALIGNMENT (64) bytes");
  }
  return guarded(SLM_ERR_INVALID_ARGUMENT, [&] {
    const slm_session_params p = params ? *params : slm_session_default_params();
    slmkit::capi::check_params(p);
    const size_t needed = slmkit::capi::measure(*model, p);
    void* heap = nullptr;
    if (arena) {
      if (arena_bytes < needed) {
        return fail_with(SLM_ERR_OUT_OF_MEMORY,
                         fmt::format("slm_session_create: the arena has {} bytes; this session "
                                     "needs {} (slm_session_arena_bytes)",
                                     arena_bytes, needed)
                             .c_str());
      }
    } else {
      heap = ::operator new (needed, std::align_val_t{SLM_ARENA_ALIGNMENT}, std::nothrow);
      if (!heap) {
        return fail_with(
            SLM_ERR_OUT_OF_MEMORY,
            fmt::format("slm_session_create: cannot allocate {} bytes", needed).c_str());
      }
      arena = heap;
      arena_bytes = needed;
    }
    try {
      slmkit::Arena a(arena, arena_bytes);
      void* self = a.take(sizeof(slm_session), alignof(slm_session));
      slm_session* s = new (self) slm_session(*model, p, a);
      s->heap_arena = heap;
      if (a.used() != needed) {
        s->~slm_session();
        slmkit::fail(slmkit::ErrorKind::internal,
                     "slm_session_create: carved {} bytes, measured {}", a.used(), needed);
      }
      *out = s;
    } catch (...) {
      if (heap) ::operator delete (heap, std::align_val_t{SLM_ARENA_ALIGNMENT});
      throw;
    }
    slmkit::capi::log_info("session: n_ctx %lld, %d threads, %zu arena bytes%s",
                           static_cast<long long>((*out)->engine.n_ctx), (*out)->engine.pool.size(),
                           needed, heap ? " (allocated by slmkit)" : "");
    return SLM_OK;
  });
}

void slm_session_free(slm_session* session) {
  if (!session) return;
  void* heap = session->heap_arena;
  session->~slm_session();
  if (heap) ::operator delete (heap, std::align_val_t{SLM_ARENA_ALIGNMENT});
}

slm_status slm_decode(slm_session* session, const int32_t* ids, int32_t n_ids, float* logits) {
  return guarded(SLM_ERR_INVALID_ARGUMENT, [&] {
    if (!session) slmkit::fail_invalid("slm_decode: session is NULL");
    if (!ids || n_ids <= 0) slmkit::fail_invalid("slm_decode: no ids (n_ids {})", n_ids);
    slmkit::Session::Impl& e = session->engine;
    const int64_t pos0 = e.n_past;
    // eval checks the ids and the room left before it changes anything.
    const std::span<const float> out = e.eval({ids, static_cast<size_t>(n_ids)}, false);
    std::memcpy(session->tokens.data() + pos0, ids, static_cast<size_t>(n_ids) * sizeof(int32_t));
    session->have_logits = true;
    if (logits) std::memcpy(logits, out.data(), out.size() * sizeof(float));
    return SLM_OK;
  });
}

const float* slm_session_logits(const slm_session* session) {
  return session && session->have_logits ? session->engine.logits.data() : nullptr;
}

slm_status slm_sample(slm_session* session, int32_t* id) {
  return guarded(SLM_ERR_INVALID_ARGUMENT, [&] {
    if (!session || !id) slmkit::fail_invalid("slm_sample: session or id is NULL");
    if (!session->have_logits) {
      slmkit::fail_invalid("slm_sample: no logits: decode a token first");
    }
    slm_session& s = *session;
    const auto n_vocab = static_cast<size_t>(s.engine.e->n_vocab);
    const int64_t n_past = s.engine.n_past;
    const int64_t window = std::clamp<int64_t>(s.sampler.repeat_last_n, 0, n_past);
    const slmkit::engine::SamplingScratch scratch{{s.sample_logits.data(), n_vocab},
                                                  {s.candidates.data(), n_vocab},
                                                  {s.penalized.data(), s.penalized.size()}};
    *id = slmkit::engine::sample_token(
        s.sampler, {s.engine.logits.data(), n_vocab},
        {s.tokens.data() + (n_past - window), static_cast<size_t>(window)}, scratch, *s.rng);
    return SLM_OK;
  });
}

slm_status slm_session_set_sampler(slm_session* session, const slm_sampler_params* params) {
  if (!session || !params) {
    return fail_with(SLM_ERR_INVALID_ARGUMENT, "slm_session_set_sampler: a NULL argument");
  }
  session->sampler = slmkit::capi::sampler_params(*params);
  session->rng->seed(params->seed);
  return SLM_OK;
}

int32_t slm_session_n_past(const slm_session* session) {
  return session ? static_cast<int32_t>(session->engine.n_past) : 0;
}

int32_t slm_session_n_ctx(const slm_session* session) {
  return session ? static_cast<int32_t>(session->engine.n_ctx) : 0;
}

void slm_session_reset(slm_session* session) {
  if (!session) return;
  session->engine.n_past = 0;
  session->have_logits = false;
  session->rng->seed(session->sampler.seed);
}

slm_status slm_session_truncate(slm_session* session, int32_t n_keep) {
  return guarded(SLM_ERR_INVALID_ARGUMENT, [&] {
    if (!session) slmkit::fail_invalid("slm_session_truncate: session is NULL");
    slmkit::Session::Impl& e = session->engine;
    if (n_keep < 0 || n_keep > e.n_past) {
      slmkit::fail_invalid("slm_session_truncate: n_keep {} is outside [0, n_past {}]", n_keep,
                           e.n_past);
    }
    if (n_keep < e.n_past) session->have_logits = false;  // they followed a dropped position
    e.n_past = n_keep;
    return SLM_OK;
  });
}

}  // extern "C"
