// A source of logits: something that evaluates a token sequence from an empty context and hands
// back every position's next-token logits. Our engine (engine/engine_logits.h), ONNX Runtime
// (peers/ort_logits.h) and llama.cpp (through the public ChunkLogits) implement it; the
// evaluation driver (eval/chunks.h) runs perplexity, KL divergence and span scoring over any of
// them, so every runtime is measured by the same code.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <utility>

namespace slmkit::eval {

class LogitSource {
 public:
  virtual ~LogitSource() = default;
  // [tokens.size(), n_vocab] row-major, row i predicting the token after tokens[i]; valid until
  // the next call.
  virtual std::span<const float> logits(std::span<const int32_t> tokens) = 0;
};

// A source from a function (the public ChunkLogits, a test's fake).
class FunctionLogits : public LogitSource {
 public:
  using Fn = std::function<std::span<const float>(std::span<const int32_t>)>;
  explicit FunctionLogits(Fn fn) : fn_(std::move(fn)) {}
  std::span<const float> logits(std::span<const int32_t> tokens) override { return fn_(tokens); }

 private:
  Fn fn_;
};

}  // namespace slmkit::eval
