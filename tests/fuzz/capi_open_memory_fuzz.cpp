// libFuzzer target for the C API's slm_model_open_memory: whatever the bytes, it returns SLM_OK
// or a failure status with a message, and never crashes; a blob that opens must also tokenize,
// decode a couple of tokens in a small session and sample, or fail with a status.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "slmkit/slmkit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The blob must be aligned; libFuzzer's own buffer is only what malloc gives.
  std::vector<uint64_t> aligned((size + 7) / 8 + 1);
  if (size > 0) std::memcpy(aligned.data(), data, size);
  slm_model* model = nullptr;
  const slm_status st = slm_model_open_memory(aligned.data(), size, &model);
  if (st != SLM_OK) {
    if (model != nullptr || slm_last_error()[0] == '\0') std::abort();
    return 0;
  }
  int32_t ids[8];
  int32_t n = slm_tokenize(model, "Once upon", 9, 1, ids, 8);
  if (n <= 0) {
    ids[0] = 0;
    n = 1;
  }
  slm_session_params params = slm_session_default_params();
  params.n_ctx = 8;
  slm_session* session = nullptr;
  if (slm_session_create(model, &params, nullptr, 0, &session) == SLM_OK) {
    if (slm_decode(session, ids, n < 2 ? n : 2, nullptr) == SLM_OK) {
      int32_t id = -1;
      if (slm_sample(session, &id) != SLM_OK) std::abort();  // logits exist after a decode
      if (id < 0 || id >= slm_model_n_vocab(model)) std::abort();
      char piece[64];
      (void)slm_token_to_piece(model, id, piece, sizeof piece);
    }
    slm_session_free(session);
  }
  slm_model_free(model);
  return 0;
}
