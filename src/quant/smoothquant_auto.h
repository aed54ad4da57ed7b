// SmoothQuant's per-channel scales, and the per-norm alpha search of `--smoothquant auto`.
#pragma once

#include <span>
#include <utility>
#include <vector>

namespace slmkit {

// s_j = x_j^alpha / w_j^(1 - alpha), clamped to [1e-5, 1e5]; 1 where x_j or w_j is 0.
std::vector<float> smoothing_scales(std::span<const float> x, std::span<const float> w,
                                    double alpha);

struct AlphaChoice {
  double alpha = 0;
  std::vector<std::pair<double, double>> errors;  // (alpha, relative output error), each tried
};

// The alpha in 0, 0.1, ..., 1 that minimizes sum ||Y_q - Y||^2 / sum ||Y||^2 over the readers of
// one norm: Y = X W^T on the kept calibration rows X (row-major, x.size() wide), Y_q the same
// product with X / s quantized to int8 per tensor and W * s to int8 per output row (symmetric,
// round to nearest): W8A8 as static int8 runtimes compute it. At most 256 output rows of each
// reader, evenly spaced, are compared (the error is a mean; the rest costs time, not accuracy).
// The first alpha reaching the minimum wins, so equal errors keep the milder migration.
AlphaChoice choose_alpha(const std::vector<std::vector<float>>& readers, std::span<const float> x,
                         std::span<const float> w, std::span<const float> samples);

}  // namespace slmkit
