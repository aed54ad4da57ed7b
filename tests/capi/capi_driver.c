/* The C side of the C API tests: a whole generation through slmkit.h alone, in C99, with the
 * model in a caller's buffer and the session in a caller's arena. */
#include "capi_driver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(capi_run_result* r, const char* what, slm_status status) {
  snprintf(r->error, sizeof r->error, "%s: %s: %s", what, slm_status_name(status),
           slm_last_error());
  return 1;
}

/* Memory aligned to `align` out of malloc(); *base is what to free(). */
static unsigned char* aligned(size_t bytes, size_t align, void** base) {
  unsigned char* p = (unsigned char*)malloc(bytes + align);
  *base = p;
  return p ? p + (align - (size_t)((uintptr_t)p % align)) % align : NULL;
}

static int run(const capi_run_request* q, capi_run_result* r, const unsigned char* blob,
               size_t blob_size) {
  slm_model* model = NULL;
  slm_session* session = NULL;
  slm_session_params params = slm_session_default_params();
  void* arena_base = NULL;
  unsigned char* arena;
  slm_status st;
  size_t used = 0;
  int32_t i, id = -1;
  int rc = 0;

  st = slm_model_open_memory(blob, blob_size, &model);
  if (st != SLM_OK) return fail(r, "slm_model_open_memory", st);
  params.n_ctx = q->n_ctx;
  params.n_threads = q->n_threads;
  params.sampler = q->sampler;
  r->arena_bytes = slm_session_arena_bytes(model, &params);
  if (r->arena_bytes == 0) {
    rc = fail(r, "slm_session_arena_bytes", SLM_ERR_INVALID_ARGUMENT);
    goto done;
  }
  arena = aligned(r->arena_bytes, SLM_ARENA_ALIGNMENT, &arena_base);
  if (!arena) {
    rc = fail(r, "malloc", SLM_ERR_OUT_OF_MEMORY);
    goto done;
  }
  r->short_arena_status = slm_session_create(model, &params, arena, r->arena_bytes - 1, &session);
  st = slm_session_create(model, &params, arena, r->arena_bytes, &session);
  if (st != SLM_OK) {
    rc = fail(r, "slm_session_create", st);
    goto done;
  }
  r->n_prompt = slm_tokenize(model, q->prompt, strlen(q->prompt), 1, r->prompt,
                             (int32_t)(sizeof r->prompt / sizeof r->prompt[0]));
  if (r->n_prompt <= 0) {
    rc = fail(r, "slm_tokenize", SLM_ERR_INVALID_ARGUMENT);
    goto done;
  }
  st = slm_decode(session, r->prompt, r->n_prompt, NULL);
  for (i = 0; st == SLM_OK && i < q->n_predict && i < 256; ++i) {
    int32_t len;
    st = slm_sample(session, &id);
    if (st != SLM_OK) break;
    r->generated[r->n_generated++] = id;
    len = slm_token_to_piece(model, id, r->text + used, (int32_t)(sizeof r->text - 1 - used));
    if (len == SLM_ERROR_COUNT) {
      st = SLM_ERR_INVALID_ARGUMENT;
      break;
    }
    if (len > 0) used += (size_t)len;
    if (i + 1 < q->n_predict) st = slm_decode(session, &id, 1, NULL);
  }
  r->text[used] = '\0';
  if (st != SLM_OK) rc = fail(r, "decode/sample", st);

done:
  slm_session_free(session);
  slm_model_free(model);
  free(arena_base);
  return rc;
}

int capi_run(const capi_run_request* q, capi_run_result* r) {
  FILE* f;
  long size = 0;
  void* base = NULL;
  unsigned char* blob = NULL;
  int rc;

  memset(r, 0, sizeof *r);
  f = fopen(q->model_path, "rb");
  if (!f) {
    snprintf(r->error, sizeof r->error, "cannot open %s", q->model_path);
    return 1;
  }
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    blob = aligned((size_t)size, SLM_MODEL_ALIGNMENT, &base);
    if (blob && fread(blob, 1, (size_t)size, f) != (size_t)size) blob = NULL;
  }
  fclose(f);
  if (!blob) {
    snprintf(r->error, sizeof r->error, "cannot read %s", q->model_path);
    free(base);
    return 1;
  }
  rc = run(q, r, blob, (size_t)size);
  free(base);
  return rc;
}
