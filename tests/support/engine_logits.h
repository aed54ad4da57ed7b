// Our engine's logits for every position of a token sequence, as the parity tests compare them:
// f32 KV cache (the peers' graphs and llama.cpp's parity runs keep K and V in f32), one thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "slmkit/engine.h"

namespace slmkit::testing {

// Row-major [tokens, vocab]. n_ctx: the session's context (0: exactly the tokens).
inline std::vector<float> engine_all_logits(const Model& model, const std::vector<int32_t>& tokens,
                                            int64_t n_ctx = 0) {
  Engine engine{Model(model)};
  SessionOptions so;
  so.n_ctx = n_ctx > 0 ? n_ctx : static_cast<int64_t>(tokens.size());
  so.kv_type = DType::F32;
  so.all_logits = true;
  so.n_threads = 1;
  Session session(engine, so);
  const std::span<const float> v = session.eval(tokens, true);
  return {v.begin(), v.end()};
}

}  // namespace slmkit::testing
