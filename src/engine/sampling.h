// One sampling step over caller-owned scratch: what slmkit::Sampler does per token, shared with
// the C API, whose sessions keep this scratch in their arena so sampling never allocates.
#pragma once

#include <cstdint>
#include <random>
#include <span>

#include "slmkit/sampler.h"

namespace slmkit::engine {

struct Candidate {
  float logit;
  int32_t id;
};

struct SamplingScratch {
  std::span<float> logits;          // [n_vocab]: the input, penalized
  std::span<Candidate> candidates;  // [n_vocab]
  std::span<int32_t> penalized;     // [at least recent.size()]
};

// Picks a token from `logits` after the repetition penalty over `recent` (the last tokens of the
// context, any order), in llama.cpp's order (see sampler.h). Draws from `rng` only when
// temperature > 0. Throws Error(invalid_input) when logits is empty or larger than the scratch.
int32_t sample_token(const SamplerParams& params, std::span<const float> logits,
                     std::span<const int32_t> recent, const SamplingScratch& scratch,
                     std::mt19937_64& rng);

}  // namespace slmkit::engine
