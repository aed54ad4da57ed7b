// How two runs' logits over the same positions agree as distributions: the share of positions
// with the same argmax and the mean KL(ours || theirs), each row's softmax taken in double. The
// tests that hold an export's precision (ONNX fp16 / int8 / q4 against our engine) state their
// bounds in these two numbers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace slmkit::testing {

struct Agreement {
  double top1 = 0;  // share of positions with the same argmax
  double kld = 0;   // mean KL(ours || theirs) per position
};

inline Agreement top1_and_kld(const std::vector<float>& ours, const std::vector<float>& theirs,
                              int64_t V) {
  EXPECT_EQ(ours.size(), theirs.size());
  const size_t n = std::min(ours.size(), theirs.size()) / static_cast<size_t>(V);
  Agreement a;
  for (size_t t = 0; t < n; ++t) {
    const float* p = ours.data() + t * V;
    const float* q = theirs.data() + t * V;
    a.top1 += (std::max_element(p, p + V) - p) == (std::max_element(q, q + V) - q);
    const double mp = *std::max_element(p, p + V), mq = *std::max_element(q, q + V);
    double zp = 0, zq = 0;
    for (int64_t i = 0; i < V; ++i) {
      zp += std::exp(p[i] - mp);
      zq += std::exp(q[i] - mq);
    }
    for (int64_t i = 0; i < V; ++i) {
      const double lp = p[i] - mp - std::log(zp), lq = q[i] - mq - std::log(zq);
      a.kld += std::exp(lp) * (lp - lq);
    }
  }
  a.top1 /= static_cast<double>(n);
  a.kld /= static_cast<double>(n);
  return a;
}

}  // namespace slmkit::testing
