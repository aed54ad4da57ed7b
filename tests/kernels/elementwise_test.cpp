// Norms, softmax, RoPE and element-wise kernels on every ISA against the scalar references, over
// every length 1..67 and long rows, at misaligned addresses, in place and out of place.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>

#include "core/half.h"
#include "kernel_test_util.h"
#include "kernels/reference.h"

namespace slmkit::testing {
namespace {

class ElementwiseTest : public IsaTest {};

// The SIMD row sums add at most 256 terms per f32 lane before flushing to double (norm_hwy.cpp),
// so a sum of non-negative terms has relative error below (256 + 2) u even on one-lane targets.
constexpr double kSumBound = (256 + 2) * kU;

std::vector<float> random_values(std::mt19937& rng, int64_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// Copies `v` into a buffer `misalign` bytes past a 64-byte boundary.
Buffer<float> placed(const std::vector<float>& v, size_t misalign) {
  Buffer<float> b(v.size(), misalign);
  std::copy(v.begin(), v.end(), b.data());
  return b;
}

TEST_P(ElementwiseTest, RmsNorm) {
  std::mt19937 rng(11);
  for (int64_t n : test_lengths()) {
    for (bool with_weight : {true, false}) {
      const auto x = random_values(rng, n, -3.0f, 3.0f);
      const auto w = random_values(rng, n, -2.0f, 2.0f);
      Buffer<float> xb = placed(x, 4), wb = placed(w, 8);
      std::vector<float> want(x.size());
      kernels::ref::rms_norm(x.data(), with_weight ? w.data() : nullptr, 1e-5f, want.data(), n);
      Buffer<float> got(x.size(), 12);
      kernels::rms_norm(xb.data(), with_weight ? wb.data() : nullptr, 1e-5f, got.data(), n);
      // The sum of squares' error halves through the square root; then sqrt, divide, cast and
      // two multiplications add a rounding each.
      for (int64_t i = 0; i < n; ++i) {
        const double tol = (kSumBound / 2 + 6 * kU) * std::fabs(want[i]) + 1e-30;
        ASSERT_LE(std::fabs(got[i] - want[i]), tol) << "n=" << n << " i=" << i;
      }
      kernels::rms_norm(xb.data(), with_weight ? wb.data() : nullptr, 1e-5f, xb.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(xb[i], got[i]) << "in place differs, n=" << n;
    }
  }
}

TEST_P(ElementwiseTest, LayerNorm) {
  std::mt19937 rng(12);
  for (int64_t n : test_lengths()) {
    // An offset mean exercises the cancellation in x - mean.
    const auto x = random_values(rng, n, 1.0f, 5.0f);
    const auto w = random_values(rng, n, -2.0f, 2.0f);
    const auto b = random_values(rng, n, -1.0f, 1.0f);
    Buffer<float> xb = placed(x, 4), wb = placed(w, 4), bb = placed(b, 8);
    std::vector<float> want(x.size());
    kernels::ref::layer_norm(x.data(), w.data(), b.data(), 1e-5f, want.data(), n);
    Buffer<float> got(x.size(), 4);
    kernels::layer_norm(xb.data(), wb.data(), bb.data(), 1e-5f, got.data(), n);
    double mean_abs = 0, mean = 0, var = 0;
    for (float v : x) mean_abs += std::fabs(v) / n, mean += static_cast<double>(v) / n;
    for (float v : x) var += (v - mean) * (v - mean) / n;
    const double inv_sd = 1.0 / std::sqrt(var + 1e-5);
    // The mean's error (a sum, kSumBound relative to sum |x|) enters every x - mean; the variance
    // sum and the normalization add relative errors of the same order.
    for (int64_t i = 0; i < n; ++i) {
      const double scale = std::fabs(w[i]) * (std::fabs(x[i] - mean) + mean_abs) * inv_sd;
      const double tol = 2 * (kSumBound + 8 * kU) * scale + 2 * kU * std::fabs(b[i]) + 1e-30;
      ASSERT_LE(std::fabs(got[i] - want[i]), tol) << "n=" << n << " i=" << i;
    }
  }
}

TEST_P(ElementwiseTest, Softmax) {
  std::mt19937 rng(13);
  for (int64_t n : test_lengths()) {
    auto x = random_values(rng, n, -10.0f, 10.0f);
    if (n > 3) x[2] = -INFINITY;  // masked attention position
    std::vector<float> want = x;
    kernels::ref::softmax(want.data(), n);
    Buffer<float> got = placed(x, 4);
    kernels::softmax(got.data(), n);
    const float max = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (std::isinf(x[i])) {
        ASSERT_EQ(got[i], 0.0f);
        continue;
      }
      // x - max rounds (relative u of |x - max|, which exp turns into an absolute error of the
      // exponent), exp adds 1 ulp, the sum kSumBound, the final scaling one rounding.
      const double tol = (std::fabs(x[i] - max) * kU + kSumBound + 4 * kU) * want[i] + 1e-37;
      ASSERT_LE(std::fabs(got[i] - want[i]), tol) << "n=" << n << " i=" << i;
      sum += got[i];
    }
    EXPECT_NEAR(sum, 1.0, n * 4 * kU + kSumBound);
    if (n > 3) {
      EXPECT_EQ(got[2], 0.0f);
    }
  }
}

TEST_P(ElementwiseTest, RopeNormalAndNeox) {
  std::mt19937 rng(14);
  for (bool neox : {false, true}) {
    for (int64_t head_dim : {2, 4, 6, 8, 16, 30, 32, 64, 66, 128, 256}) {
      for (int64_t n_dims : {head_dim, head_dim / 2 - (head_dim / 2) % 2}) {
        if (n_dims <= 0) continue;
        const int64_t n_heads = 3;
        const auto x = random_values(rng, n_heads * head_dim, -4.0f, 4.0f);
        std::vector<float> cos(static_cast<size_t>(n_dims / 2)), sin(cos.size());
        for (size_t i = 0; i < cos.size(); ++i) {
          const double angle = 37.0 * std::pow(10000.0, -2.0 * i / n_dims);
          cos[i] = static_cast<float>(std::cos(angle));
          sin[i] = static_cast<float>(std::sin(angle));
        }
        std::vector<float> want = x;
        kernels::ref::rope(want.data(), n_heads, head_dim, n_dims, cos.data(), sin.data(), neox);
        Buffer<float> got = placed(x, 4);
        Buffer<float> cb = placed(cos, 8), sb = placed(sin, 12);
        kernels::rope(got.data(), n_heads, head_dim, n_dims, cb.data(), sb.data(), neox);
        for (int64_t h = 0; h < n_heads; ++h) {
          for (int64_t i = 0; i < head_dim; ++i) {
            const size_t k = static_cast<size_t>(h * head_dim + i);
            const bool rotated = i < n_dims;
            if (!rotated) {
              ASSERT_EQ(got[k], x[k]) << "dims past n_dims must be untouched";
              continue;
            }
            // Partner of element i in its rotation pair.
            const int64_t half = n_dims / 2;
            const int64_t j = neox ? (i < half ? i + half : i - half) : (i ^ 1);
            const size_t kj = static_cast<size_t>(h * head_dim + j);
            // a c - b s with |c|, |s| <= 1: two products and a difference, each rounded once.
            const double tol = 3 * kU * (std::fabs(x[k]) + std::fabs(x[kj]));
            ASSERT_LE(std::fabs(got[k] - want[k]), tol)
                << (neox ? "neox" : "normal") << " head_dim=" << head_dim << " n_dims=" << n_dims
                << " i=" << i;
          }
        }
      }
    }
  }
}

// Inputs for the activations: a sweep through the interesting range plus random values.
std::vector<float> activation_inputs(std::mt19937& rng, int64_t n) {
  auto x = random_values(rng, n, -12.0f, 12.0f);
  const float fixed[] = {0.0f,  -0.0f, 1e-20f, -1e-20f, 0.5f,   -0.5f, 3.0f,
                         -3.0f, 20.0f, -20.0f, 90.0f,   -90.0f, 1e4f,  -1e4f};
  for (size_t i = 0; i < x.size() && i < std::size(fixed); ++i) x[i * 3 % x.size()] = fixed[i];
  return x;
}

TEST_P(ElementwiseTest, GeluTanh) {
  std::mt19937 rng(15);
  for (int64_t n : test_lengths()) {
    const auto x = activation_inputs(rng, n);
    std::vector<float> want(x.size());
    kernels::ref::gelu_tanh(x.data(), want.data(), n);
    Buffer<float> xb = placed(x, 4);
    Buffer<float> got(x.size(), 8);
    kernels::gelu_tanh(xb.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      // y = x/2 (1 + tanh(g)), g = k (x + c x^3): g is off by a few roundings (4u|g|), which
      // tanh scales by 1 - tanh^2 <= 1; tanh itself is within 4 ulp; the rest is a few roundings
      // of |x| / 2.
      const double g = 0.7978845608 * (x[i] + 0.044715 * x[i] * x[i] * x[i]);
      const double t = std::tanh(g);
      const double tol =
          0.5 * std::fabs(x[i]) * (4 * kU * std::fabs(g) * (1 - t * t) + 8 * kU) + 1e-37;
      ASSERT_LE(std::fabs(got[i] - want[i]), tol) << "x=" << x[i];
    }
  }
}

TEST_P(ElementwiseTest, GeluErf) {
  std::mt19937 rng(16);
  for (int64_t n : test_lengths()) {
    const auto x = activation_inputs(rng, n);
    std::vector<float> want(x.size());
    kernels::ref::gelu_erf(x.data(), want.data(), n);
    Buffer<float> xb = placed(x, 4);
    Buffer<float> got(x.size(), 8);
    kernels::gelu_erf(xb.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      // The erfc fit is within 1.2e-7 (2 u) relative; evaluating its polynomial (9 FMAs on
      // t <= 1), the reciprocal and exp adds about 16 u. The exponent P - z^2 is off by about
      // u (4 z^2 + 2): z = x / sqrt(2) rounds (2u z^2 once squared), the square and the
      // subtraction round (u z^2 each); exp turns that absolute error into a relative one.
      const double z2 = 0.5 * static_cast<double>(x[i]) * x[i];
      const double tol = (24 + 4 * z2) * kU * std::fabs(want[i]) + 1e-37;
      ASSERT_LE(std::fabs(got[i] - want[i]), tol) << "x=" << x[i];
    }
  }
}

TEST_P(ElementwiseTest, Silu) {
  std::mt19937 rng(17);
  for (int64_t n : test_lengths()) {
    const auto x = activation_inputs(rng, n);
    std::vector<float> want(x.size());
    kernels::ref::silu(x.data(), want.data(), n);
    Buffer<float> xb = placed(x, 4);
    kernels::silu(xb.data(), xb.data(), n);  // in place
    for (int64_t i = 0; i < n; ++i) {
      // exp(-|x|) within 1 ulp, then an addition, a division and a multiplication: 5 u
      // relative. Past x = -87.3, exp(x) is below FLT_MIN and Highway's exp flushes it to 0, so
      // silu may be 0 where the truth is below |x| FLT_MIN.
      const double tol = 5 * kU * std::fabs(want[i]) + std::fabs(x[i]) * FLT_MIN;
      ASSERT_LE(std::fabs(xb[i] - want[i]), tol) << "x=" << x[i];
    }
  }
}

TEST_P(ElementwiseTest, Softcap) {
  std::mt19937 rng(18);
  for (int64_t n : test_lengths()) {
    const auto x = random_values(rng, n, -100.0f, 100.0f);
    const float cap = 30.0f;
    std::vector<float> want(x.size());
    kernels::ref::softcap(x.data(), cap, want.data(), n);
    Buffer<float> xb = placed(x, 4);
    Buffer<float> got(x.size(), 8);
    kernels::softcap(xb.data(), cap, got.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      // x / cap via a reciprocal (2 roundings, scaled by tanh' <= 1), tanh 4 ulp, one multiply.
      const double tol = 2 * kU * std::fabs(x[i]) + 6 * kU * std::fabs(want[i]) + 1e-37;
      ASSERT_LE(std::fabs(got[i] - want[i]), tol) << "x=" << x[i];
    }
  }
}

// llama.cpp's table GELU, rebuilt from its definition for every f16 input in (-10, 10): the
// table entry is f16(gelu(f)) with gelu in f32 and tanhf. Our tanh is within 4 ulp of tanhf, so
// an entry may land a step away where the f32 value sits near a rounding boundary; 99% match.
TEST_P(ElementwiseTest, GeluF16TableMatchesLlamaCppsTable) {
  std::vector<float> x;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isfinite(f) && f > -10.0f && f < 10.0f) x.push_back(f);
  }
  for (float v : {-1e4f, -10.0f, 10.0f, 10.5f, 1e4f}) x.push_back(v);
  const auto n = static_cast<int64_t>(x.size());
  Buffer<float> got(x.size(), 4);
  kernels::gelu_tanh_f16_table(x.data(), got.data(), n);
  int64_t exact = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float f = x[i];
    float want;
    if (f <= -10.0f) {
      want = 0.0f;
    } else if (f >= 10.0f) {
      want = f;
    } else {
      const float g =
          0.5f * f * (1.0f + std::tanh(0.79788456080286535588f * f * (1.0f + 0.044715f * f * f)));
      want = f16_to_f32(f32_to_f16(g));
    }
    if (got[i] == want) {
      ++exact;
      continue;
    }
    // One f16 step, plus the f32 GELUs' own disagreement before rounding: where 1 + tanh
    // cancels (x < -3) both are off by a few ulp of 1 times |x| / 2 (see GeluTanh above).
    const double step = std::fabs(f16_to_f32(static_cast<uint16_t>(f32_to_f16(want) + 1)) - want);
    const double g = 0.7978845608 * (f + 0.044715 * f * f * f);
    ASSERT_LE(std::fabs(got[i] - want), step + std::fabs(f) * (4 * std::fabs(g) + 8) * kU)
        << "x=" << f;
  }
  EXPECT_GT(static_cast<double>(exact) / n, 0.99);
  kernels::gelu_tanh_f16_table(x.data(), x.data(), n);  // in place
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(x[i], got[i]);
}

// Single correctly rounded operations: bit-exact.
TEST_P(ElementwiseTest, AddMulScaleAreExact) {
  std::mt19937 rng(19);
  for (int64_t n : test_lengths()) {
    const auto a = random_values(rng, n, -5.0f, 5.0f);
    const auto b = random_values(rng, n, -5.0f, 5.0f);
    Buffer<float> ab = placed(a, 4), bb = placed(b, 12);
    Buffer<float> y(a.size(), 8);
    kernels::add(ab.data(), bb.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] + b[i]);
    kernels::mul(ab.data(), bb.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] * b[i]);
    kernels::scale(ab.data(), 0.37f, y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] * 0.37f);
    kernels::add(ab.data(), bb.data(), ab.data(), n);  // in place
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(ab[i], a[i] + b[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ElementwiseTest, ::testing::ValuesIn(kernels::available_isas()),
                         isa_param_name);

}  // namespace
}  // namespace slmkit::testing
