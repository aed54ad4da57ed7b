/* Drives slmkit's C API from C (capi_driver.c is compiled as C99): the tests compare what these
 * functions produce with the C++ engine's results. */
#ifndef SLMKIT_TESTS_CAPI_DRIVER_H
#define SLMKIT_TESTS_CAPI_DRIVER_H

#include <slmkit/slmkit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char* model_path; /* read into memory and opened with slm_model_open_memory */
  const char* prompt;     /* tokenized with BOS */
  int32_t n_predict;      /* tokens to sample, each decoded but the last (no stop token) */
  int32_t n_ctx;
  int32_t n_threads;
  slm_sampler_params sampler;
} capi_run_request;

typedef struct {
  int32_t prompt[256];
  int32_t n_prompt;
  int32_t generated[256];
  int32_t n_generated;
  size_t arena_bytes;
  slm_status short_arena_status; /* what an arena one byte short gave */
  char text[4096];               /* the pieces of the generated tokens, NUL-terminated */
  char error[1024];              /* why it failed, when it returns nonzero */
} capi_run_result;

/* 0 on success. */
int capi_run(const capi_run_request* request, capi_run_result* result);

#ifdef __cplusplus
}
#endif

#endif
