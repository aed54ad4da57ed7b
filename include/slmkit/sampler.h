// Choosing the next token from logits, in llama.cpp's order: repetition penalty, top-k, top-p,
// min-p, temperature, then a draw from the softmax. temperature <= 0 is greedy (argmax, the
// first maximum on ties), after the repetition penalty.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace slmkit {

struct SamplerParams {
  float temperature = 0.8f;     // <= 0: greedy
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off; keeps tokens with p >= min_p * p(most likely)
  float repeat_penalty = 1.0f;  // 1: off; > 1 divides positive / multiplies negative logits
  int32_t repeat_last_n = 64;   // how many recent tokens the penalty looks at
  uint64_t seed = 0;            // the same seed and logits give the same tokens
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params = {});
  ~Sampler();
  Sampler(Sampler&&) noexcept;
  Sampler& operator=(Sampler&&) noexcept;

  const SamplerParams& params() const;
  // Picks a token; does not record it (call accept()).
  int32_t sample(std::span<const float> logits);
  // Records a token of the context (prompt or generated) for the repetition penalty.
  void accept(int32_t token);
  void reset();  // forgets the history and restarts the random sequence from the seed

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slmkit
