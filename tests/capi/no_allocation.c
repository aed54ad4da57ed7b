/* "No heap allocation after slm_session_create", checked from C with a malloc interposer: this
 * program defines malloc and its relatives (forwarding to glibc's __libc_* entry points), so every
 * allocation in the process, the C++ runtime's operator new included, passes through a counter.
 *
 *   no_allocation MODEL.gguf
 *
 * With n_threads = 1 nothing at all is allocated from slm_session_arena_bytes through create,
 * decode, sample (greedy and seeded top-k/top-p with a repetition penalty), truncate, reset and
 * slm_session_free. With worker threads, starting them allocates (the thread library's own
 * bookkeeping), so the count starts after create. Exit 0: passed, 1: failed, 77: no model (skip).
 * Not built with sanitizers, which own malloc. */
#include <slmkit/slmkit.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void* __libc_malloc(size_t n);
extern void* __libc_calloc(size_t n, size_t size);
extern void* __libc_realloc(void* p, size_t n);
extern void __libc_free(void* p);
extern void* __libc_memalign(size_t align, size_t n);

static int g_counting;
static long g_allocations;

static void counted(void) {
  if (__atomic_load_n(&g_counting, __ATOMIC_RELAXED)) {
    __atomic_fetch_add(&g_allocations, 1, __ATOMIC_RELAXED);
  }
}

void* malloc(size_t n) {
  counted();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  counted();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  counted();
  return __libc_realloc(p, n);
}
void free(void* p) {
  __libc_free(p);
}
void* memalign(size_t align, size_t n) {
  counted();
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) {
  counted();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  counted();
  *out = __libc_memalign(align, n);
  return *out ? 0 : 12; /* ENOMEM */
}

static void count_from_here(void) {
  __atomic_store_n(&g_allocations, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&g_counting, 1, __ATOMIC_SEQ_CST);
}

static long counted_so_far(void) {
  __atomic_store_n(&g_counting, 0, __ATOMIC_SEQ_CST);
  return __atomic_load_n(&g_allocations, __ATOMIC_SEQ_CST);
}

static int check(int ok, const char* what) {
  if (!ok) fprintf(stderr, "no_allocation: %s failed: %s\n", what, slm_last_error());
  return ok;
}

/* Decodes the prompt, then samples and decodes 16 tokens; twice, with a truncate and a reset. */
static int exercise(slm_session* s, const int32_t* prompt, int32_t n_prompt) {
  int round, i, ok = 1;
  int32_t id = 0;
  for (round = 0; round < 2 && ok; ++round) {
    ok &= check(slm_decode(s, prompt, n_prompt, NULL) == SLM_OK, "decode prompt");
    for (i = 0; i < 16 && ok; ++i) {
      ok &= check(slm_sample(s, &id) == SLM_OK, "sample");
      ok &= check(slm_decode(s, &id, 1, NULL) == SLM_OK, "decode");
    }
    ok &= check(slm_session_truncate(s, n_prompt) == SLM_OK, "truncate");
    ok &= check(slm_decode(s, &id, 1, NULL) == SLM_OK, "decode after truncate");
    slm_session_reset(s);
  }
  return ok;
}

static void* aligned(size_t bytes, void** base) {
  unsigned char* p = (unsigned char*)malloc(bytes + SLM_ARENA_ALIGNMENT);
  *base = p;
  return p ? p + (SLM_ARENA_ALIGNMENT - (uintptr_t)p % SLM_ARENA_ALIGNMENT) % SLM_ARENA_ALIGNMENT
           : NULL;
}

int main(int argc, char** argv) {
  FILE* f;
  long size = 0;
  void* blob_base = NULL;
  unsigned char* blob = NULL;
  slm_model* model = NULL;
  int32_t prompt[64];
  int32_t n_prompt;
  int threads, sampled, failures = 0;

  if (argc < 2 || !(f = fopen(argv[1], "rb"))) {
    fprintf(stderr, "no_allocation: skipped: no model (%s)\n", argc < 2 ? "none given" : argv[1]);
    return 77;
  }
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    blob = (unsigned char*)aligned((size_t)size, &blob_base);
    if (blob && fread(blob, 1, (size_t)size, f) != (size_t)size) blob = NULL;
  }
  fclose(f);
  if (!blob || slm_model_open_memory(blob, (size_t)size, &model) != SLM_OK) {
    fprintf(stderr, "no_allocation: cannot open %s: %s\n", argv[1], slm_last_error());
    return 1;
  }
  n_prompt = slm_tokenize(model, "Once upon a time", 16, 1, prompt, 64);
  if (n_prompt <= 0) return 1;

  for (threads = 1; threads <= 2; ++threads) {
    for (sampled = 0; sampled <= 1; ++sampled) {
      slm_session_params p = slm_session_default_params();
      slm_session* s = NULL;
      void* arena_base = NULL;
      void* arena;
      size_t bytes;
      long n;
      int ok;
      p.n_ctx = 64;
      p.n_threads = threads;
      if (sampled) {
        p.sampler.seed = 7;
        p.sampler.repeat_penalty = 1.1f;
      } else {
        p.sampler.temperature = 0.0f;
      }
      bytes = slm_session_arena_bytes(model, &p); /* sized before the arena exists */
      arena = aligned(bytes, &arena_base);
      if (threads == 1) count_from_here();
      bytes = slm_session_arena_bytes(model, &p);
      ok = check(slm_session_create(model, &p, arena, bytes, &s) == SLM_OK, "create");
      if (threads > 1) count_from_here();
      ok = ok && exercise(s, prompt, n_prompt);
      slm_session_free(s);
      n = counted_so_far();
      printf("no_allocation: %d thread(s), %s: %ld allocations %s\n", threads,
             sampled ? "seeded sampling" : "greedy", n,
             threads == 1 ? "from arena_bytes to free" : "after create, to free");
      if (!ok || n != 0) ++failures;
      free(arena_base);
    }
  }
  slm_model_free(model);
  free(blob_base);
  return failures ? 1 : 0;
}
