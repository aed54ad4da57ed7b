#include "engine/engine_logits.h"

#include <algorithm>

namespace slmkit::engine {

SessionOptions evaluation_session(int64_t n_ctx, int n_threads, DType kv_type) {
  SessionOptions so;
  so.n_ctx = n_ctx;
  so.n_batch = std::min<int64_t>(n_ctx, 512);  // llama.cpp's default ubatch
  so.n_threads = n_threads;
  so.kv_type = kv_type;
  so.all_logits = true;
  return so;
}

EngineLogits::EngineLogits(const Engine& engine, int64_t n_ctx, int n_threads, DType kv_type)
    : session_(engine, evaluation_session(n_ctx, n_threads, kv_type)) {}

std::span<const float> EngineLogits::logits(std::span<const int32_t> tokens) {
  session_.clear();
  return session_.eval(tokens, true);
}

}  // namespace slmkit::engine
