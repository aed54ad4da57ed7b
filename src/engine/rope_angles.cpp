#include "engine/rope_angles.h"

#include <cmath>

namespace slmkit::engine {

void rope_angles(const RopeFrequencies& f, int64_t pos0, int64_t n_positions, float* cos,
                 float* sin) {
  const int64_t half = f.n_dims / 2;
  const float theta_scale = std::pow(f.freq_base, -2.0f / static_cast<float>(f.n_dims));
  const bool has_factors = static_cast<int64_t>(f.factors.size()) >= half;
  for (int64_t t = 0; t < n_positions; ++t) {
    float theta = static_cast<float>(pos0 + t);
    for (int64_t i = 0; i < half; ++i) {
      const float extrapolated = has_factors ? theta / f.factors[static_cast<size_t>(i)] : theta;
      const float angle = f.freq_scale * extrapolated;
      cos[t * half + i] = std::cos(angle);
      sin[t * half + i] = std::sin(angle);
      theta *= theta_scale;
    }
  }
}

}  // namespace slmkit::engine
