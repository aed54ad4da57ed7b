/* Greedy generation through slmkit's C API, as a host that brings its own memory does it: the
 * GGUF is read into a buffer and opened from there (no copy of its tensors), and the session
 * lives in an arena this program allocates at the size the library asks for. Plain C99.
 *
 *   generate MODEL.gguf [PROMPT] [N_PREDICT]
 *
 * Prints the prompt and its continuation on stdout (stopping at end-of-generation); says on
 * stderr what it did. Exit status 0 on success, 1 on a usage error, 2 when slmkit refused. */
#include <slmkit/slmkit.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* malloc() memory moved up to `align` bytes; *base is what to free(). */
static void* aligned_block(size_t bytes, size_t align, void** base) {
  unsigned char* p = (unsigned char*)malloc(bytes + align);
  size_t shift;
  *base = p;
  if (!p) return NULL;
  shift = (align - (size_t)((uintptr_t)p % align)) % align;
  return p + shift;
}

static void* read_file(const char* path, size_t* size, void** base) {
  FILE* f = fopen(path, "rb");
  void* data = NULL;
  long n;
  *base = NULL;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    data = aligned_block((size_t)n, SLM_MODEL_ALIGNMENT, base);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) data = NULL;
    *size = (size_t)n;
  }
  fclose(f);
  return data;
}

static int failed(const char* what, slm_status status) {
  fprintf(stderr, "generate: %s: %s: %s\n", what, slm_status_name(status), slm_last_error());
  return 2;
}

int main(int argc, char** argv) {
  const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
  const int n_predict = argc > 3 ? atoi(argv[3]) : 32;
  void* blob_base = NULL;
  void* arena_base = NULL;
  size_t blob_size = 0;
  void* blob;
  slm_model* model = NULL;
  slm_session* session = NULL;
  slm_session_params params;
  size_t arena_bytes;
  void* arena;
  int32_t ids[512];
  int32_t n_ids, id = 0;
  char piece[256];
  int i, rc = 0;
  slm_status st;

  if (argc < 2 || n_predict < 0) {
    fprintf(stderr, "usage: generate MODEL.gguf [PROMPT] [N_PREDICT]\n");
    return 1;
  }
  blob = read_file(argv[1], &blob_size, &blob_base);
  if (!blob) {
    fprintf(stderr, "generate: cannot read %s\n", argv[1]);
    free(blob_base);
    return 1;
  }
  st = slm_model_open_memory(blob, blob_size, &model);
  if (st != SLM_OK) {
    free(blob_base);
    return failed("open", st);
  }

  params = slm_session_default_params();
  params.n_ctx = 256;
  params.sampler.temperature = 0.0f; /* greedy */
  arena_bytes = slm_session_arena_bytes(model, &params);
  if (arena_bytes == 0) {
    rc = failed("arena size", SLM_ERR_INVALID_ARGUMENT);
    goto done;
  }
  arena = aligned_block(arena_bytes, SLM_ARENA_ALIGNMENT, &arena_base);
  if (!arena) {
    fprintf(stderr, "generate: cannot allocate %lu bytes\n", (unsigned long)arena_bytes);
    rc = 1;
    goto done;
  }
  /* One byte short is refused, and the arena is not touched. */
  st = slm_session_create(model, &params, arena, arena_bytes - 1, &session);
  if (st != SLM_ERR_OUT_OF_MEMORY) {
    fprintf(stderr, "generate: an arena one byte short gave %s\n", slm_status_name(st));
    rc = 2;
    goto done;
  }
  st = slm_session_create(model, &params, arena, arena_bytes, &session);
  if (st != SLM_OK) {
    rc = failed("session", st);
    goto done;
  }
  fprintf(stderr, "generate: %s '%s' from a %lu-byte buffer, session in a %lu-byte arena\n",
          slm_model_architecture(model), slm_model_name(model), (unsigned long)blob_size,
          (unsigned long)arena_bytes);

  n_ids =
      slm_tokenize(model, prompt, strlen(prompt), 1, ids, (int32_t)(sizeof ids / sizeof ids[0]));
  if (n_ids <= 0) {
    fprintf(stderr, "generate: cannot tokenize the prompt (%ld): %s\n", (long)n_ids,
            slm_last_error());
    rc = 2;
    goto done;
  }
  fputs(prompt, stdout);
  st = slm_decode(session, ids, n_ids, NULL);
  for (i = 0; st == SLM_OK && i < n_predict; ++i) {
    int32_t len;
    st = slm_sample(session, &id);
    if (st != SLM_OK || slm_model_is_eog(model, id)) break;
    len = slm_token_to_piece(model, id, piece, (int32_t)sizeof piece);
    if (len > 0) fwrite(piece, 1, (size_t)len, stdout);
    if (slm_session_n_past(session) >= slm_session_n_ctx(session)) break;
    st = slm_decode(session, &id, 1, NULL);
  }
  fputc('\n', stdout);
  if (st != SLM_OK) rc = failed("decode", st);

done:
  slm_session_free(session);
  slm_model_free(model);
  free(arena_base);
  free(blob_base);
  return rc;
}
