// The quant module on its own: block sizes against the dtype table, round-trip error within what
// each format's step size allows, exact cases worked by hand, and the helpers' error handling.
// Bit-exactness against llama.cpp lives in tests/peers/quant_bitexact_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/scale_search.h"
#include "quant/type_traits.h"
#include "slmkit/error.h"
#include "slmkit/quantize.h"
#include "slmkit/tensor.h"

namespace slmkit::quant {
namespace {

const DType kQuantTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                             DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K,
                             DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K};

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

std::vector<float> round_trip(DType type, const std::vector<float>& x, int64_t n_per_row) {
  const std::vector<std::byte> q = quantize_rows(type, x, n_per_row);
  std::vector<float> y(x.size());
  dequantize(type, q, y);
  return y;
}

TEST(QuantBlocks, SizesMatchTheDtypeTable) {
  EXPECT_EQ(sizeof(block_q4_0), traits(DType::Q4_0).block_bytes);
  EXPECT_EQ(sizeof(block_q4_1), traits(DType::Q4_1).block_bytes);
  EXPECT_EQ(sizeof(block_q5_0), traits(DType::Q5_0).block_bytes);
  EXPECT_EQ(sizeof(block_q5_1), traits(DType::Q5_1).block_bytes);
  EXPECT_EQ(sizeof(block_q8_0), traits(DType::Q8_0).block_bytes);
  EXPECT_EQ(sizeof(block_q8_1), traits(DType::Q8_1).block_bytes);
  EXPECT_EQ(sizeof(block_q2_k), traits(DType::Q2_K).block_bytes);
  EXPECT_EQ(sizeof(block_q3_k), traits(DType::Q3_K).block_bytes);
  EXPECT_EQ(sizeof(block_q4_k), traits(DType::Q4_K).block_bytes);
  EXPECT_EQ(sizeof(block_q5_k), traits(DType::Q5_K).block_bytes);
  EXPECT_EQ(sizeof(block_q6_k), traits(DType::Q6_K).block_bytes);
  EXPECT_EQ(sizeof(block_q8_k), traits(DType::Q8_K).block_bytes);
  EXPECT_EQ(traits(DType::Q4_K).block_size, static_cast<uint32_t>(kQK_K));
  EXPECT_EQ(traits(DType::Q4_0).block_size, static_cast<uint32_t>(kQK));
}

TEST(QuantTraits, EveryTypeHasARowAndItsActivationType) {
  for (DType t : kQuantTypes) {
    const QuantTraits* row = quant_traits(t);
    ASSERT_NE(row, nullptr) << dtype_name(t);
    EXPECT_EQ(row->type, t);
    EXPECT_TRUE(can_quantize(t));
  }
  EXPECT_EQ(quant_traits(DType::Q4_0)->vec_dot_type, DType::Q8_0);
  EXPECT_EQ(quant_traits(DType::Q4_1)->vec_dot_type, DType::Q8_1);
  EXPECT_EQ(quant_traits(DType::Q4_K)->vec_dot_type, DType::Q8_K);
  EXPECT_EQ(quant_traits(DType::IQ2_XXS), nullptr);
  EXPECT_FALSE(can_quantize(DType::I32));
}

// The registry's geometry comes from the block structs; GGML's catalogue (core) must agree, and
// each weight type's llama_ftype is the preset llama.cpp names a file of only that type.
TEST(QuantTraits, RowsAgreeWithTheCatalogueAndNameTheirFileType) {
  for (const QuantTraits& row : all_quant_traits()) {
    EXPECT_EQ(row.block_elements, traits(row.type).block_size) << dtype_name(row.type);
    EXPECT_EQ(row.block_bytes, traits(row.type).block_bytes) << dtype_name(row.type);
    EXPECT_EQ(row.from_float_weighted != nullptr,
              row.block_elements > 1 && row.type != DType::Q8_0 && row.type != DType::Q8_1 &&
                  row.type != DType::Q8_K)
        << dtype_name(row.type);
  }
  const auto ftype_name = [](DType t) {
    return llama_ftype_name(static_cast<int32_t>(*quant_traits(t)->llama_ftype));
  };
  EXPECT_EQ(ftype_name(DType::Q8_0), "Q8_0");
  EXPECT_EQ(ftype_name(DType::Q4_K), "Q4_K_M");
  EXPECT_EQ(ftype_name(DType::Q3_K), "Q3_K_M");
  EXPECT_EQ(ftype_name(DType::BF16), "BF16");
  EXPECT_FALSE(quant_traits(DType::Q8_K)->llama_ftype.has_value());
  EXPECT_EQ(llama_ftype_from_name("Q4_K"), 15);
  EXPECT_EQ(llama_ftype_name(15), "Q4_K_M");
  EXPECT_EQ(llama_ftype_name(4), "");  // retired
}

// nearest_int rounds half to even (it is the float adder's rounding), for both signs.
TEST(QuantScaleSearch, NearestIntRoundsHalfToEven) {
  EXPECT_EQ(nearest_int(0.5f), 0);
  EXPECT_EQ(nearest_int(1.5f), 2);
  EXPECT_EQ(nearest_int(2.5f), 2);
  EXPECT_EQ(nearest_int(-0.5f), 0);
  EXPECT_EQ(nearest_int(-1.5f), -2);
  EXPECT_EQ(nearest_int(-2.49f), -2);
  EXPECT_EQ(nearest_int(1000000.4f), 1000000);
}

// Worked by hand: x = 0..31, amax 31, d = 31/127 (f16 0x33d0 = 0.244140625 after rounding),
// q_j = round(j * 127 / 31).
// The batched search (groups side by side, 8 lanes) against one make_qkx2_quants call per group:
// the same levels, and the same scale and -min bits, for every parameter set the K-quants and the
// weighted paths use, group counts that leave partial batches, and groups that end the search
// early (all equal, all positive so the minimum is clamped to zero, all zero).
TEST(QuantScaleSearch, GroupsMatchOneCallPerGroup) {
  struct Params {
    int n, nmax;
    float rmin, rdelta;
    int nstep;
    bool use_mad;
  };
  const Params params[] = {{32, 15, -1.f, 0.1f, 20, false},  {32, 31, -0.5f, 0.1f, 15, false},
                           {16, 3, -0.5f, 0.1f, 15, true},   {32, 15, -0.9f, 0.05f, 36, false},
                           {16, 3, -0.9f, 0.05f, 36, false}, {32, 15, -1.f, 0.1f, 0, false}};
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  int compared = 0;
  for (const Params& p : params) {
    for (int n_groups : {1, 5, 8, 13, 16}) {
      const auto total = static_cast<size_t>(n_groups * p.n);
      std::vector<float> x(total), w(total);
      for (size_t i = 0; i < total; ++i) {
        x[i] = normal(rng) * 0.05f;
        w[i] = 0.1f + unit(rng);
      }
      // Group 1: all equal; group 2: all positive; group 3: all zero (where they exist).
      for (int i = 0; i < p.n && n_groups > 3; ++i) {
        x[static_cast<size_t>(p.n + i)] = 0.25f;
        x[static_cast<size_t>(2 * p.n + i)] =
            0.01f + std::fabs(x[static_cast<size_t>(2 * p.n + i)]);
        x[static_cast<size_t>(3 * p.n + i)] = 0.f;
      }
      std::vector<uint8_t> levels(total, 0xaa), want(total, 0x55);
      std::vector<float> scales(static_cast<size_t>(n_groups)), mins(scales.size());
      quant::make_qkx2_quants_groups(n_groups, p.n, p.nmax, x.data(), w.data(), levels.data(),
                                     scales.data(), mins.data(), p.rmin, p.rdelta, p.nstep,
                                     p.use_mad);
      for (int g = 0; g < n_groups; ++g) {
        uint8_t scratch[32];
        float neg_min = 0;
        const size_t at = static_cast<size_t>(g * p.n);
        const float scale =
            quant::make_qkx2_quants(p.n, p.nmax, x.data() + at, w.data() + at, want.data() + at,
                                    &neg_min, scratch, p.rmin, p.rdelta, p.nstep, p.use_mad);
        uint32_t a, b;
        std::memcpy(&a, &scale, 4);
        std::memcpy(&b, &scales[static_cast<size_t>(g)], 4);
        EXPECT_EQ(a, b) << "n " << p.n << " nmax " << p.nmax << " group " << g;
        std::memcpy(&a, &neg_min, 4);
        std::memcpy(&b, &mins[static_cast<size_t>(g)], 4);
        EXPECT_EQ(a, b) << "n " << p.n << " nmax " << p.nmax << " group " << g;
        ++compared;
      }
      EXPECT_EQ(levels, want) << "n " << p.n << " nmax " << p.nmax << " groups " << n_groups;
    }
  }
  EXPECT_EQ(compared, 6 * (1 + 5 + 8 + 13 + 16));
}

// The same for make_qx_quants' batched form (Q6_K's 16-element groups, plain and weighted; Q3_K's
// nmax 4), with an all-zero group and one below the magnitude threshold.
TEST(QuantScaleSearch, QxGroupsMatchOneCallPerGroup) {
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  int compared = 0;
  for (int nmax : {32, 4}) {
    for (bool weighted : {false, true}) {
      for (int n_groups : {1, 7, 8, 16, 19}) {
        const int n = 16;
        const auto total = static_cast<size_t>(n_groups * n);
        std::vector<float> x(total), w(total);
        for (size_t i = 0; i < total; ++i) {
          x[i] = normal(rng) * 0.05f;
          w[i] = 0.1f + unit(rng);
        }
        for (int i = 0; i < n && n_groups > 2; ++i) {
          x[static_cast<size_t>(n + i)] = 0.f;
          x[static_cast<size_t>(2 * n + i)] = 1e-17f;
        }
        std::vector<int8_t> levels(total, 0x2a), want(total, 0x15);
        std::vector<float> scales(static_cast<size_t>(n_groups));
        const float* wp = weighted ? w.data() : nullptr;
        quant::make_qx_quants_groups(n_groups, n, nmax, x.data(), levels.data(), scales.data(), wp);
        for (int g = 0; g < n_groups; ++g) {
          const size_t at = static_cast<size_t>(g * n);
          const float scale = quant::make_qx_quants(n, nmax, x.data() + at, want.data() + at, 1,
                                                    wp ? wp + at : nullptr);
          uint32_t a, b;
          std::memcpy(&a, &scale, 4);
          std::memcpy(&b, &scales[static_cast<size_t>(g)], 4);
          EXPECT_EQ(a, b) << "nmax " << nmax << " weighted " << weighted << " group " << g;
          ++compared;
        }
        EXPECT_EQ(levels, want) << "nmax " << nmax << " weighted " << weighted;
      }
    }
  }
  EXPECT_EQ(compared, 4 * (1 + 7 + 8 + 16 + 19));
}

TEST(QuantQ8_0, HandWorkedBlock) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j);
  const std::vector<std::byte> q = quantize_rows(DType::Q8_0, x, 32);
  block_q8_0 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.d, f32_to_f16(31.0f / 127.0f));
  EXPECT_EQ(b.qs[0], 0);
  EXPECT_EQ(b.qs[1], 4);    // 4.097
  EXPECT_EQ(b.qs[16], 66);  // 65.55
  EXPECT_EQ(b.qs[31], 127);
}

// Q4_0 maps the signed extreme to level 0 (value -8 * d): the block [-3, 0, ..., 1.5, ...] has
// d = -3 / -8 = 0.375, so -3 -> level 0, 1.5 -> 1.5 / 0.375 + 8 = level 12, 0 -> level 8.
TEST(QuantQ4_0, ExtremeMapsToLevelZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = -3.0f;
  x[17] = 1.5f;
  const std::vector<std::byte> q = quantize_rows(DType::Q4_0, x, 32);
  block_q4_0 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(f16_to_f32(b.d), 0.375f);
  EXPECT_EQ(b.qs[0] & 0xf, 0);
  EXPECT_EQ(b.qs[1] >> 4, 12);  // element 17 is the high nibble of byte 1
  EXPECT_EQ(b.qs[2] & 0xf, 8);
}

TEST(QuantAll, ZerosStayZero) {
  const std::vector<float> x(512, 0.0f);
  for (DType t : kQuantTypes) {
    const std::vector<float> y = round_trip(t, x, 512);
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

// Legacy types: the error of every element is bounded by half a step (a full step at the clamped
// end for the symmetric types, whose range is [-8d, 7d]), plus the f16 rounding of d (relative
// 2^-11, times the largest level) and, for _1 types, of the minimum.
TEST(QuantLegacy, ElementErrorWithinStep) {
  const std::vector<float> x = gaussian(32 * 64, 7);
  struct Bound {
    DType type;
    float levels;    // steps across the block's range
    bool symmetric;  // d from the signed extreme: range 2 * amax over `levels` steps
  };
  const Bound bounds[] = {{DType::Q4_0, 8, true},   {DType::Q5_0, 16, true},
                          {DType::Q8_0, 127, true}, {DType::Q4_1, 15, false},
                          {DType::Q5_1, 31, false}, {DType::Q8_1, 127, true}};
  const float f16_rel = 1.0f / 2048;
  for (const Bound& b : bounds) {
    const std::vector<float> y = round_trip(b.type, x, 32 * 64);
    for (size_t blk = 0; blk < x.size() / 32; ++blk) {
      float lo = 0, hi = 0, amax = 0;
      for (size_t j = 0; j < 32; ++j) {
        const float v = x[blk * 32 + j];
        lo = j ? std::min(lo, v) : v;
        hi = j ? std::max(hi, v) : v;
        amax = std::max(amax, std::fabs(v));
      }
      float bound;
      if (b.symmetric) {
        const float d = amax / b.levels;
        // Q8 rounds (half a step); Q4_0/Q5_0 clamp the far end, up to a whole step.
        bound = (b.levels > 100 ? 0.5f * d : d) + amax * 2 * f16_rel;
      } else {
        const float d = (hi - lo) / b.levels;
        bound = 0.5f * d + (hi - lo) * f16_rel + std::fabs(lo) * f16_rel;
      }
      for (size_t j = 0; j < 32; ++j) {
        const size_t i = blk * 32 + j;
        ASSERT_LE(std::fabs(y[i] - x[i]), bound * 1.0001f)
            << dtype_name(b.type) << " block " << blk << " element " << j;
      }
    }
  }
}

// K-quants: normalized RMSE on unit gaussian rows, against a plain b-bit uniform grid over each
// group's range, whose RMS error is step / sqrt(12) with step = span / (2^b - 1). The expected span
// of n gaussian samples is about 3.5 sigma for n = 16 (Q2_K, Q3_K, Q6_K groups), 4.1 for n = 32
// (Q4_K, Q5_K) and 5.8 for Q8_K's symmetric 256-element block (2 * E[max |x|]). The scale
// searches should do at least about as well; the 6-bit group scales and f16 super-block scales
// cost a little, hence the 1.3 factor. Measured: Q2_K 0.29, Q3_K 0.15, Q4_K 0.072, Q5_K 0.036,
// Q6_K 0.018, Q8_K 0.0070.
TEST(QuantK, RmseWithinUniformGridEstimate) {
  const std::vector<float> x = gaussian(256 * 64, 11);
  const struct {
    DType type;
    int bits;
    double span_sigmas;
  } cases[] = {{DType::Q2_K, 2, 3.5}, {DType::Q3_K, 3, 3.5}, {DType::Q4_K, 4, 4.1},
               {DType::Q5_K, 5, 4.1}, {DType::Q6_K, 6, 3.5}, {DType::Q8_K, 8, 5.8}};
  for (const auto& c : cases) {
    const std::vector<float> y = round_trip(c.type, x, 256);
    double se = 0, sx = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      se += (y[i] - x[i]) * (y[i] - x[i]);
      sx += x[i] * x[i];
    }
    const double nrmse = std::sqrt(se / sx);
    const double estimate = c.span_sigmas / ((1 << c.bits) - 1) / std::sqrt(12.0);
    std::printf("%s: normalized RMSE %.5f (uniform-grid estimate %.5f)\n",
                std::string(dtype_name(c.type)).c_str(), nrmse, estimate);
    EXPECT_LT(nrmse, 1.3 * estimate) << dtype_name(c.type);
  }
}

TEST(QuantRows, ThreadsDoNotChangeTheBytes) {
  const std::vector<float> x = gaussian(256 * 37, 3);
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::Q3_K}) {
    EXPECT_EQ(quantize_rows(t, x, 256, 1), quantize_rows(t, x, 256, 4)) << dtype_name(t);
  }
}

TEST(QuantRows, RejectsRowsThatDoNotFitTheBlock) {
  const std::vector<float> x(320, 1.0f);
  EXPECT_THROW(quantize_rows(DType::Q4_K, x, 320), Error);  // 320 is not a multiple of 256
  EXPECT_THROW(quantize_rows(DType::Q8_0, x, 96 + 1), Error);
  EXPECT_THROW(quantize_rows(DType::Q8_0, x, 96), Error);  // 320 is not 96 * rows
  EXPECT_THROW(quantize_rows(DType::IQ2_XXS, x, 256), Error);
  std::vector<float> y(64);
  const std::vector<std::byte> short_input(10);
  EXPECT_THROW(dequantize(DType::Q8_0, short_input, y), Error);
}

TEST(QuantTensor, DequantizeReadsBlockTypesToF32ReadsPlainOnes) {
  const std::vector<float> x = gaussian(256 * 2, 5);
  std::vector<std::byte> q = quantize_rows(DType::Q6_K, x, 256);
  std::vector<float> expected(x.size());
  dequantize(DType::Q6_K, q, expected);
  const Tensor t = Tensor::owned("w", DType::Q6_K, {2, 256}, std::move(q));
  EXPECT_EQ(slmkit::dequantize(t), expected);
  EXPECT_THROW(t.to_f32(), Error);  // core converts plain types only
  const Tensor f = Tensor::owned("f", DType::F32, {1}, std::vector<std::byte>(4));
  EXPECT_EQ(slmkit::dequantize(f), std::vector<float>{0.0f});
}

}  // namespace
}  // namespace slmkit::quant
