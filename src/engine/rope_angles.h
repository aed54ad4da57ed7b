// cos / sin of the RoPE rotation angles of a run of positions, computed the way llama.cpp's CPU
// backend computes them (ggml_rope_cache_init: f32 arithmetic, the angle of pair i+1 being the
// angle of pair i times base^(-2/n_dims)), so that rotations agree with it to the last bits.
#pragma once

#include <cstdint>
#include <span>

namespace slmkit::engine {

struct RopeFrequencies {
  int64_t n_dims = 0;  // rotated dimensions; n_dims / 2 angles per position
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;         // linear scaling: 1 / factor
  std::span<const float> factors;  // rope_freqs (Llama 3): angle i is divided by factors[i]
};

// cos[t * n_dims/2 + i], sin[...] for positions pos0 .. pos0 + n_positions - 1.
void rope_angles(const RopeFrequencies& f, int64_t pos0, int64_t n_positions, float* cos,
                 float* sin);

}  // namespace slmkit::engine
