// `--smoothquant auto`: each norm's alpha from the W8A8 output error it gives on calibration rows.
#include "quant/smoothquant_auto.h"

#include <algorithm>
#include <cmath>

namespace slmkit {
namespace {

constexpr int64_t kMaxRowsPerReader = 256;

// v quantized to int8 symmetric (scale max|v| / 127) and back, in place.
void fake_int8(std::span<float> v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  if (m == 0) return;
  const float scale = m / 127.0f;
  for (float& x : v) x = std::nearbyint(x / scale) * scale;
}

double dot(const float* a, const float* b, int64_t n) {
  double d = 0;
  for (int64_t j = 0; j < n; ++j) d += static_cast<double>(a[j]) * b[j];
  return d;
}

}  // namespace

AlphaChoice choose_alpha(const std::vector<std::vector<float>>& readers, std::span<const float> x,
                         std::span<const float> w, std::span<const float> samples) {
  const auto n = static_cast<int64_t>(x.size());
  const int64_t n_rows = n > 0 ? static_cast<int64_t>(samples.size()) / n : 0;
  // The output rows compared, per reader, and the reference products on them.
  std::vector<std::vector<int64_t>> picked(readers.size());
  std::vector<double> y;
  for (size_t r = 0; r < readers.size(); ++r) {
    const auto out = static_cast<int64_t>(readers[r].size()) / std::max<int64_t>(n, 1);
    const int64_t step = std::max<int64_t>(1, out / kMaxRowsPerReader);
    for (int64_t o = 0; o < out; o += step) {
      picked[r].push_back(o);
      for (int64_t t = 0; t < n_rows; ++t) {
        y.push_back(dot(samples.data() + t * n, readers[r].data() + o * n, n));
      }
    }
  }
  double y_norm = 0;
  for (double v : y) y_norm += v * v;

  AlphaChoice best;
  double best_error = INFINITY;
  std::vector<float> xq(samples.size()), wq(static_cast<size_t>(n));
  for (int k = 0; k <= 10; ++k) {
    const double alpha = k / 10.0;
    const std::vector<float> s = smoothing_scales(x, w, alpha);
    for (int64_t t = 0; t < n_rows; ++t) {
      for (int64_t j = 0; j < n; ++j) xq[t * n + j] = samples[t * n + j] / s[j];
    }
    fake_int8(xq);
    double error = 0;
    size_t at = 0;
    for (size_t r = 0; r < readers.size(); ++r) {
      for (int64_t o : picked[r]) {
        for (int64_t j = 0; j < n; ++j) wq[j] = readers[r][o * n + j] * s[j];
        fake_int8(wq);
        for (int64_t t = 0; t < n_rows; ++t, ++at) {
          const double d = dot(xq.data() + t * n, wq.data(), n) - y[at];
          error += d * d;
        }
      }
    }
    const double relative = y_norm > 0 ? error / y_norm : error;
    best.errors.emplace_back(alpha, relative);
    if (relative < best_error) {
      best_error = relative;
      best.alpha = alpha;
    }
  }
  return best;
}

}  // namespace slmkit
