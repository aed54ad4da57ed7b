/* slmkit's C API: a small-language-model runtime for hosts that bring their own memory.
 *
 * C99, no C++ inside; usable from any FFI. The model comes from a GGUF file (memory-mapped) or
 * from a GGUF blob already in memory, whose tensor data is used in place, never copied. A session
 * (one sequence: its KV cache, activations, sampler and thread pool) lives entirely in one arena
 * the caller provides and sizes with slm_session_arena_bytes(); after slm_session_create()
 * nothing more is allocated. See docs/embedding.md.
 *
 * Errors: every call that can fail returns a status (or a documented sentinel); the message of the
 * calling thread's last failure is slm_last_error(). No C++ exception crosses this boundary.
 * Threads: a model may be shared by any number of sessions and threads; a session is used by one
 * thread at a time. */
#ifndef SLMKIT_SLMKIT_H
#define SLMKIT_SLMKIT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SLM_API __attribute__((visibility("default")))
#else
#define SLM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SLM_VERSION_MAJOR 0
#define SLM_VERSION_MINOR 1
#define SLM_VERSION_PATCH 0

/* A model blob must start at a multiple of this (malloc's alignment on 64-bit systems): tensors are
 * read in place as floats and block structs. */
#define SLM_MODEL_ALIGNMENT 16
/* A session arena must start at a multiple of this. */
#define SLM_ARENA_ALIGNMENT 64
/* What slm_tokenize and slm_token_to_piece return on failure (slm_last_error says why). */
#define SLM_ERROR_COUNT INT32_MIN

typedef struct slm_model slm_model;
typedef struct slm_session slm_session;

typedef enum {
  SLM_OK = 0,
  SLM_ERR_INVALID_ARGUMENT, /* a null pointer, a size or id out of range, a misaligned buffer */
  SLM_ERR_BAD_MODEL,        /* the blob or file is not a GGUF slmkit can read: truncated, corrupt */
  SLM_ERR_UNSUPPORTED,      /* valid, but an architecture, type or tokenizer slmkit lacks */
  SLM_ERR_OUT_OF_MEMORY,    /* the arena is too small, or the heap refused */
  SLM_ERR_IO,               /* the operating system refused: open, mmap, thread start */
  SLM_ERR_INTERNAL          /* a broken invariant inside slmkit */
} slm_status;

typedef enum { SLM_KV_F16 = 0, SLM_KV_F32 = 1 } slm_kv_type;

/* Token choice, in llama.cpp's order: repetition penalty, top-k, top-p, min-p, temperature. */
typedef struct {
  float temperature;     /* <= 0: greedy (the first maximum) */
  int32_t top_k;         /* <= 0: off */
  float top_p;           /* >= 1: off */
  float min_p;           /* <= 0: off */
  float repeat_penalty;  /* 1: off */
  int32_t repeat_last_n; /* how many of the context's last tokens the penalty looks at */
  uint64_t seed;         /* the same seed, model and tokens give the same choices */
} slm_sampler_params;

/* How a session starts its worker threads; for hosts without POSIX threads (a kernel, an RTOS).
 * start runs run(arg) on a new thread and returns a non-NULL handle, or NULL when it cannot.
 * join waits until run returned and releases the thread. Workers wait for work by spinning, then
 * by futex (C++20 atomic wait): a host without that facility uses n_threads = 1. */
typedef struct {
  void* (*start)(void (*run)(void* arg), void* arg, void* user);
  void (*join)(void* thread, void* user);
  void* user;
} slm_thread_hooks;

typedef struct {
  int32_t n_ctx;     /* KV cache positions; 0: the model's context, at most 4096 */
  int32_t n_threads; /* threads that run a decode, the caller's included: 1 creates none;
                        0: one per core */
  /* more fields follow; start from slm_session_default_params() */
  int32_t n_batch; /* most tokens one forward pass takes (longer inputs run in passes); 0: 512 */
  int32_t kv_type; /* slm_kv_type */
  slm_sampler_params sampler;
  const slm_thread_hooks* threads; /* NULL: the C++ runtime's threads (pthreads) */
} slm_session_params;

/* n_ctx 0, n_threads 1, n_batch 0, F16 KV cache, sampler temperature 0.8, top_k 40, top_p 0.95,
 * min_p 0.05, no repetition penalty (1, last 64), seed 0, threads NULL. */
SLM_API slm_session_params slm_session_default_params(void);

SLM_API const char* slm_version(void);           /* "0.1.0" */
SLM_API const char* slm_status_name(slm_status); /* "SLM_ERR_BAD_MODEL" */
/* The message of the calling thread's last failed call ("" when none failed); valid until this
 * thread's next failing call. */
SLM_API const char* slm_last_error(void);

/* Every failure message, and a line per model opened and session created, also goes to `sink`
 * (level 0: error, 1: info), from the thread that made the call: for hosts that cannot read
 * thread-local storage, or that log. NULL turns it off. Set it before other calls; not safe to
 * change while other threads call the library. */
typedef void (*slm_log_sink)(int level, const char* message, void* user);
SLM_API void slm_set_log_sink(slm_log_sink sink, void* user);

/* ---- Models -------------------------------------------------------------------------------- */

/* A GGUF held in memory. Tensor data is not copied: `data` must stay valid and unchanged until
 * slm_model_free(), and start at a multiple of SLM_MODEL_ALIGNMENT. Opening does allocate (on the
 * heap, once): the vocabulary and tokenizer tables, f32 copies of norm weights and biases, and
 * interleaved copies of Q4_0 matrices; slm_model_heap_bytes() counts the weight part. A
 * truncated or corrupt blob is SLM_ERR_BAD_MODEL with a message naming the field and offset. */
SLM_API slm_status slm_model_open_memory(const void* data, size_t size, slm_model** out);
/* The same from a file, memory-mapped read-only. */
SLM_API slm_status slm_model_open_file(const char* path, slm_model** out);
SLM_API void slm_model_free(slm_model* model); /* NULL is allowed; free its sessions first */

/* Metadata. Strings stay valid while the model lives. */
SLM_API int32_t slm_model_n_vocab(const slm_model* model);
SLM_API int32_t slm_model_n_ctx_train(const slm_model* model);
SLM_API int32_t slm_model_n_embd(const slm_model* model);
SLM_API int32_t slm_model_n_layer(const slm_model* model);
SLM_API int32_t slm_model_n_head(const slm_model* model);
SLM_API int32_t slm_model_n_head_kv(const slm_model* model);
SLM_API int32_t slm_model_bos(const slm_model* model); /* -1: none */
SLM_API int32_t slm_model_eos(const slm_model* model); /* -1: none */
/* Nonzero for ids that end a generation (EOS, EOT and the like). */
SLM_API int slm_model_is_eog(const slm_model* model, int32_t id);
SLM_API const char* slm_model_architecture(const slm_model* model); /* "llama", "gpt2", ... */
SLM_API const char* slm_model_name(const slm_model* model);         /* general.name, or "" */
SLM_API uint64_t slm_model_n_params(const slm_model* model);
/* Bytes of tensor data read in place from the blob or mapping. */
SLM_API uint64_t slm_model_tensor_bytes(const slm_model* model);
/* Bytes of weights the library allocated at open (repacked matrices, f32 norms and biases). */
SLM_API uint64_t slm_model_heap_bytes(const slm_model* model);

/* ---- Text ---------------------------------------------------------------------------------- */

/* Token ids of `len` bytes of UTF-8 at `text` (NULL allowed when len is 0), the model's BOS first
 * when add_bos is nonzero and the model has one. Special-token texts in `text` are plain text.
 * Returns the count; -(count) without writing when max_ids is too small; SLM_ERROR_COUNT on
 * failure. Uses the heap (the session arena is for decoding). */
SLM_API int32_t slm_tokenize(const slm_model* model, const char* text, size_t len, int add_bos,
                             int32_t* ids, int32_t max_ids);
/* The bytes token `id` stands for (not NUL-terminated; a UTF-8 character may span tokens);
 * control tokens (BOS, EOS) give none. Returns the length; -(length) without writing when buf_len
 * is too small; SLM_ERROR_COUNT for an id out of range. */
SLM_API int32_t slm_token_to_piece(const slm_model* model, int32_t id, char* buf, int32_t buf_len);

/* ---- Sessions ------------------------------------------------------------------------------ */

/* Exactly the bytes slm_session_create() carves from an arena for these params (KV cache,
 * activations, sampler scratch, thread handles, the session itself); 0 on failure. */
SLM_API size_t slm_session_arena_bytes(const slm_model* model, const slm_session_params* params);
/* A session in `arena` (SLM_ARENA_ALIGNMENT-aligned, at least slm_session_arena_bytes(); it must
 * outlive the session). A smaller arena is SLM_ERR_OUT_OF_MEMORY and is not touched. arena NULL:
 * the library allocates that much itself. params NULL: the defaults. The model must outlive the
 * session. After this call, decoding, sampling, truncate, reset and free allocate nothing (a call
 * that fails may, for its message). */
SLM_API slm_status slm_session_create(const slm_model* model, const slm_session_params* params,
                                      void* arena, size_t arena_bytes, slm_session** out);
SLM_API void slm_session_free(slm_session* session); /* joins its threads; NULL is allowed */

/* Appends n_ids tokens at positions n_past.. and computes the logits that follow the last one;
 * copies them (n_vocab floats) into `logits` unless it is NULL. Tokens that would not fit in
 * n_ctx, or an id outside the vocabulary, are SLM_ERR_INVALID_ARGUMENT and change nothing. */
SLM_API slm_status slm_decode(slm_session* session, const int32_t* ids, int32_t n_ids,
                              float* logits);
/* The logits of the last decode (n_vocab floats, valid until the next call on the session), or
 * NULL when none was made since create, reset or truncate. */
SLM_API const float* slm_session_logits(const slm_session* session);
/* Picks the next token from the last decode's logits with the session's sampler (its repetition
 * penalty looks at the context's last repeat_last_n tokens). Does not decode it. */
SLM_API slm_status slm_sample(slm_session* session, int32_t* id);
/* New sampler settings; the random sequence restarts from their seed. */
SLM_API slm_status slm_session_set_sampler(slm_session* session, const slm_sampler_params* params);

SLM_API int32_t slm_session_n_past(const slm_session* session); /* positions in the KV cache */
SLM_API int32_t slm_session_n_ctx(const slm_session* session);
/* Forgets every position; the sampler's random sequence restarts from its seed. */
SLM_API void slm_session_reset(slm_session* session);
/* Keeps positions [0, n_keep) and forgets the rest (0 <= n_keep <= n_past), e.g. to regenerate
 * from a shared prompt. */
SLM_API slm_status slm_session_truncate(slm_session* session, int32_t n_keep);

#ifdef __cplusplus
}
#endif

#endif /* SLMKIT_SLMKIT_H */
