// The engine as a logit source (eval/logit_source.h): one session, cleared before every sequence,
// keeping every position's logits.
#pragma once

#include <span>

#include "eval/logit_source.h"
#include "slmkit/engine.h"

namespace slmkit::engine {

class EngineLogits : public eval::LogitSource {
 public:
  // A session of n_ctx positions (n_batch min(n_ctx, 512): llama.cpp's default ubatch) and
  // all_logits, on `engine`, which must outlive this.
  EngineLogits(const Engine& engine, int64_t n_ctx, int n_threads, DType kv_type);
  std::span<const float> logits(std::span<const int32_t> tokens) override;

 private:
  Session session_;
};

SessionOptions evaluation_session(int64_t n_ctx, int n_threads, DType kv_type);

}  // namespace slmkit::engine
