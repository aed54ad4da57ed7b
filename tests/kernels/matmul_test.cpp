// dot / matmul / row_to_f32 / round_to_grid on every ISA against the scalar references.
#include <cmath>

#include "core/half.h"
#include "kernel_test_util.h"
#include "kernels/quant_kernels.h"
#include "kernels/reference.h"
#include "kernels/weight_types.h"
#include "slmkit/error.h"

namespace slmkit::testing {
namespace {

using kernels::MatrixRef;

size_t elem_bytes(DType t) {
  return t == DType::F32 ? 4 : 2;
}

// Stores v as `type` at element i of `row`; returns the value actually stored.
float store(DType type, std::byte* row, int64_t i, float v) {
  if (type == DType::F32) {
    std::memcpy(row + 4 * i, &v, 4);
    return v;
  }
  const uint16_t h = type == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
  std::memcpy(row + 2 * i, &h, 2);
  return type == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

// A [rows, cols] matrix with padded rows, values from `gen`; `exact` holds the stored values.
struct TestMatrix {
  Buffer<std::byte> storage;
  MatrixRef ref;
  std::vector<float> exact;

  template <typename Gen>
  TestMatrix(DType type, int64_t rows, int64_t cols, int64_t pad_elems, size_t misalign, Gen gen)
      : storage(static_cast<size_t>(rows * (cols + pad_elems)) * elem_bytes(type) + 1, misalign),
        exact(static_cast<size_t>(rows * cols)) {
    const int64_t stride = (cols + pad_elems) * static_cast<int64_t>(elem_bytes(type));
    ref = MatrixRef{type, storage.bytes(), rows, cols, stride};
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols + pad_elems; ++c) {
        // Padding holds huge values so that reading past a row shows in the result.
        const float v = c < cols ? gen() : 1e30f;
        const float stored = store(type, storage.bytes() + r * stride, c, v);
        if (c < cols) exact[static_cast<size_t>(r * cols + c)] = stored;
      }
    }
  }
};

const DType kTypes[] = {DType::F32, DType::F16, DType::BF16};

// matmul of `m` (w's rows, or w with a packed copy) for rows [r0, r1) against the scalar
// reference of w's rows, within the summation bound; the other rows of y untouched.
void expect_matmul_matches_reference(const MatrixRef& m, const TestMatrix& w, const float* x,
                                     int64_t x_stride, int64_t n_tokens, int64_t y_stride,
                                     int64_t r0, int64_t r1) {
  const int64_t cols = w.ref.cols;
  std::vector<float> got(static_cast<size_t>(n_tokens * y_stride), -7.0f), want = got;
  kernels::matmul(m, x, x_stride, n_tokens, got.data(), y_stride, r0, r1);
  kernels::ref::matmul(w.ref, x, x_stride, n_tokens, want.data(), y_stride, r0, r1);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < y_stride; ++r) {
      const size_t i = static_cast<size_t>(t * y_stride + r);
      if (r < r0 || r >= r1) {
        ASSERT_EQ(got[i], -7.0f) << "wrote outside [r0, r1): t=" << t << " r=" << r;
        continue;
      }
      double abs_sum = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        abs_sum += std::fabs(w.exact[static_cast<size_t>(r * cols + c)] * x[t * x_stride + c]);
      }
      ASSERT_LE(std::fabs(got[i] - want[i]), gamma(cols) * abs_sum + kU * std::fabs(want[i]))
          << dtype_name(w.ref.dtype) << " rows=" << w.ref.rows << " cols=" << cols
          << " tokens=" << n_tokens << " [" << r0 << ", " << r1 << ") packed "
          << (m.packed != nullptr) << " t=" << t << " r=" << r;
    }
  }
}

class MatmulTest : public IsaTest {};

// Small integers scaled by 1/16: every product and partial sum is exact in f32, so the result
// must be exactly the true sum whatever the order; an element dropped or read twice shows.
TEST_P(MatmulTest, DotIsExactOnExactlyRepresentableData) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> small(-8, 8);
  auto gen = [&] { return static_cast<float>(small(rng)) / 16.0f; };
  for (DType type : kTypes) {
    for (int64_t n : test_lengths()) {
      for (size_t misalign : {size_t{0}, elem_bytes(type), 3 * elem_bytes(type)}) {
        TestMatrix w(type, 1, n, 0, misalign, gen);
        Buffer<float> x(static_cast<size_t>(n), 4 * (misalign / elem_bytes(type) + 1));
        double truth = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          x[static_cast<size_t>(i)] = gen();
          truth += static_cast<double>(w.exact[static_cast<size_t>(i)]) * x[static_cast<size_t>(i)];
        }
        const float got = kernels::dot(type, w.ref.data, x.data(), n);
        ASSERT_EQ(got, static_cast<float>(truth)) << dtype_name(type) << " n=" << n;
      }
    }
  }
}

// Random data: the difference to the double-accumulated reference is bounded by
// gamma_n * sum |w_i x_i| (any summation order, FMA or not) plus the reference's own final
// rounding, u |ref|.
TEST_P(MatmulTest, DotWithinSummationErrorBound) {
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto gen = [&] { return normal(rng); };
  for (DType type : kTypes) {
    for (int64_t n : test_lengths()) {
      TestMatrix w(type, 1, n, 0, elem_bytes(type), gen);
      Buffer<float> x(static_cast<size_t>(n), 8);
      double abs_sum = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        x[static_cast<size_t>(i)] = gen();
        abs_sum += std::fabs(w.exact[static_cast<size_t>(i)] * x[static_cast<size_t>(i)]);
      }
      const float want = kernels::ref::dot(type, w.ref.data, x.data(), n);
      const float got = kernels::dot(type, w.ref.data, x.data(), n);
      ASSERT_LE(std::fabs(got - want), gamma(n) * abs_sum + kU * std::fabs(want))
          << dtype_name(type) << " n=" << n;
    }
  }
}

// Every tile shape and remainder: rows and tokens not multiples of the tile, padded weight rows,
// strided activations and outputs, and a row range [r0, r1) in the middle; outputs outside the
// range must stay untouched.
TEST_P(MatmulTest, MatmulMatchesReferenceOverShapes) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto gen = [&] { return normal(rng); };
  const int64_t row_counts[] = {1, 2, 3, 4, 5, 7, 8, 13, 67};
  const int64_t col_counts[] = {1, 3, 8, 15, 16, 17, 33, 64, 67, 300};
  const int64_t token_counts[] = {1, 2, 3, 4, 5, 6, 7, 9, 13};
  for (DType type : kTypes) {
    for (int64_t rows : row_counts) {
      for (int64_t cols : col_counts) {
        TestMatrix w(type, rows, cols, 3, elem_bytes(type), gen);
        for (int64_t n_tokens : token_counts) {
          const int64_t x_stride = cols + 5;
          const int64_t y_stride = rows + 2;
          Buffer<float> x(static_cast<size_t>(n_tokens * x_stride), 4);
          for (size_t i = 0; i < x.size(); ++i) x[i] = gen();
          const int64_t r0 = rows > 2 ? 1 : 0;
          const int64_t r1 = rows > 3 ? rows - 1 : rows;
          ASSERT_NO_FATAL_FAILURE(expect_matmul_matches_reference(w.ref, w, x.data(), x_stride,
                                                                  n_tokens, y_stride, r0, r1));
        }
      }
    }
  }
}

// A prefill-sized product that crosses the 128 KiB row panels, with exactly representable
// values so every element must be exact.
TEST_P(MatmulTest, LargeMatmulIsExactOnExactlyRepresentableData) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> small(-8, 8);
  auto gen = [&] { return static_cast<float>(small(rng)) / 16.0f; };
  const int64_t rows = 301, cols = 1027, n_tokens = 11;
  for (DType type : kTypes) {
    TestMatrix w(type, rows, cols, 0, 0, gen);
    std::vector<float> x(static_cast<size_t>(n_tokens * cols));
    for (float& v : x) v = gen();
    std::vector<float> got(static_cast<size_t>(n_tokens * rows));
    kernels::matmul(w.ref, x.data(), cols, n_tokens, got.data(), rows, 0, rows);
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        double truth = 0.0;
        for (int64_t c = 0; c < cols; ++c) {
          truth += static_cast<double>(w.exact[static_cast<size_t>(r * cols + c)]) *
                   x[static_cast<size_t>(t * cols + c)];
        }
        ASSERT_EQ(got[static_cast<size_t>(t * rows + r)], static_cast<float>(truth))
            << dtype_name(type) << " t=" << t << " r=" << r;
      }
    }
  }
}

// F16 and BF16 rows interleaved 16 at a time (packed_layouts.h f16x16): whole groups inside
// [r0, r1) come from the packed copy, the rows around them from the rows; the same bound holds.
// Every ISA is given the packed copy (the engine packs for the ISA in force at load, which can
// change), and those without the packed kernel read the rows. Token counts visit every tile (12,
// 6, 2, 1), row counts one to five groups and a tail, columns odd lengths.
TEST_P(MatmulTest, PackedF16AndBF16MatchReference) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto gen = [&] { return normal(rng); };
  for (DType type : {DType::F16, DType::BF16})
    for (int64_t rows : {16, 35, 64, 80}) {
      for (int64_t cols : {1, 17, 300}) {
        TestMatrix w(type, rows, cols, 0, 2, gen);
        size_t bytes = 0;
        {
          ScopedIsa best("auto");
          bytes = kernels::packed_bytes(w.ref);
        }
        if (bytes == 0) GTEST_SKIP() << "no ISA of this build and CPU packs " << dtype_name(type);
        std::vector<std::byte> packed(bytes + 2);
        kernels::pack_matrix(w.ref, packed.data() + 2);  // misaligned on purpose
        MatrixRef m = w.ref;
        m.packed = packed.data() + 2;
        for (int64_t n_tokens : {1, 2, 3, 7, 13, 20, 25}) {
          const int64_t x_stride = cols + 3;
          Buffer<float> x(static_cast<size_t>(n_tokens * x_stride), 4);
          for (size_t i = 0; i < x.size(); ++i) x[i] = gen();
          for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, rows}, {5, rows - 3}, {16, rows}}) {
            ASSERT_NO_FATAL_FAILURE(
                expect_matmul_matches_reference(m, w, x.data(), x_stride, n_tokens, rows, r0, r1))
                << dtype_name(type);
          }
        }
        // Rows read back from the packed copy (embedding lookups) are the rows.
        const kernels::WeightKernels* k = kernels::find_weight_kernels(type);
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
          k->row_of(m, r, row.data());
          ASSERT_TRUE(std::equal(row.begin(), row.end(), w.exact.begin() + r * cols))
              << dtype_name(type) << " row " << r;
        }
      }
    }
}

// W^T x over short, wide matrices (attention keys stored [head_dim, positions]): every column
// count exercises the full-vector, 4-lane and scalar column paths; tokens 1..9 every token
// grouping; [c0, c1) in the middle, untouched outside.
TEST_P(MatmulTest, MatmulTransposedMatchesReferenceOverShapes) {
  std::mt19937 rng(8);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto gen = [&] { return normal(rng); };
  for (DType type : kTypes) {
    for (int64_t rows : {1, 3, 8, 32, 64, 67}) {
      for (int64_t cols : test_lengths()) {
        if (cols > 300) continue;
        TestMatrix w(type, rows, cols, 7, elem_bytes(type), gen);
        for (int64_t n_tokens : {1, 2, 3, 4, 5, 8, 9}) {
          const int64_t x_stride = rows + 3;
          const int64_t y_stride = cols + 5;
          Buffer<float> x(static_cast<size_t>(n_tokens * x_stride), 4);
          for (size_t i = 0; i < x.size(); ++i) x[i] = gen();
          const int64_t c0 = cols > 2 ? 1 : 0;
          const int64_t c1 = cols > 3 ? cols - 1 : cols;
          std::vector<float> got(static_cast<size_t>(n_tokens * y_stride), -7.0f);
          std::vector<float> want = got;
          kernels::matmul_transposed(w.ref, x.data(), x_stride, n_tokens, got.data(), y_stride, c0,
                                     c1);
          kernels::ref::matmul_transposed(w.ref, x.data(), x_stride, n_tokens, want.data(),
                                          y_stride, c0, c1);
          for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t c = 0; c < y_stride; ++c) {
              const size_t i = static_cast<size_t>(t * y_stride + c);
              if (c < c0 || c >= c1) {
                ASSERT_EQ(got[i], -7.0f) << "wrote outside [c0, c1): t=" << t << " c=" << c;
                continue;
              }
              double abs_sum = 0.0;
              for (int64_t r = 0; r < rows; ++r) {
                abs_sum += std::fabs(w.exact[static_cast<size_t>(r * cols + c)] *
                                     x[static_cast<size_t>(t * x_stride + r)]);
              }
              ASSERT_LE(std::fabs(got[i] - want[i]),
                        gamma(rows) * abs_sum + kU * std::fabs(want[i]))
                  << dtype_name(type) << " rows=" << rows << " cols=" << cols
                  << " tokens=" << n_tokens << " t=" << t << " c=" << c;
            }
          }
        }
      }
    }
  }
}

TEST_P(MatmulTest, MatmulTransposedIsExactOnExactlyRepresentableData) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> small(-8, 8);
  auto gen = [&] { return static_cast<float>(small(rng)) / 16.0f; };
  const int64_t rows = 96, cols = 1031, n_tokens = 7;
  for (DType type : kTypes) {
    TestMatrix w(type, rows, cols, 0, 0, gen);
    std::vector<float> x(static_cast<size_t>(n_tokens * rows));
    for (float& v : x) v = gen();
    std::vector<float> got(static_cast<size_t>(n_tokens * cols));
    kernels::matmul_transposed(w.ref, x.data(), rows, n_tokens, got.data(), cols, 0, cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t c = 0; c < cols; ++c) {
        double truth = 0.0;
        for (int64_t r = 0; r < rows; ++r) {
          truth += static_cast<double>(w.exact[static_cast<size_t>(r * cols + c)]) *
                   x[static_cast<size_t>(t * rows + r)];
        }
        ASSERT_EQ(got[static_cast<size_t>(t * cols + c)], static_cast<float>(truth))
            << dtype_name(type) << " t=" << t << " c=" << c;
      }
    }
  }
}

TEST_P(MatmulTest, RowToF32IsExact) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 100.0f);
  auto gen = [&] { return normal(rng); };
  for (DType type : kTypes) {
    for (int64_t n : test_lengths()) {
      TestMatrix w(type, 1, n, 0, elem_bytes(type), gen);
      Buffer<float> out(static_cast<size_t>(n), 4);
      kernels::row_to_f32(type, w.ref.data, out.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(out[static_cast<size_t>(i)], w.exact[static_cast<size_t>(i)]) << dtype_name(type);
      }
    }
  }
}

// Rounding onto the F16 / BF16 grid must equal the scalar conversion bit for bit, including
// ties, subnormals, overflow to infinity, infinities, NaN and signed zeros.
TEST_P(MatmulTest, RoundToGridIsBitExact) {
  std::vector<float> values = {
      0.0f,          -0.0f,     1.0f,      -1.0f,          65504.0f,        65519.0f,
      65520.0f,      -65520.0f, 1e10f,     -1e-10f,        5.96e-8f,        2.98e-8f,
      2.9802322e-8f, 6.1e-5f,   6.103e-5f, 1.00048828125f, 1.000732421875f, 3.0e38f,
      INFINITY,      -INFINITY, NAN};
  std::mt19937 rng(6);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 20000; ++i) {
    uint32_t b = bits(rng);
    // Bias toward the f16 range so normal, subnormal and tie cases all occur often.
    if (i % 2 == 0) {
      const uint32_t exponent = 96 + (b >> 8) % 49;  // 2^-31 .. 2^17
      b = (b & 0x807fffffu) | (exponent << 23);
    }
    float f;
    std::memcpy(&f, &b, 4);
    values.push_back(f);
  }
  // Exact ties: halfway between neighbours on the f16 grid (ulp 2^-10 in [1, 2)) and bf16's (2^-7).
  for (int k = 0; k < 1024; ++k) values.push_back(1.0f + k / 1024.0f + 1.0f / 2048.0f);
  for (int k = 0; k < 128; ++k) values.push_back(-(1.0f + k / 128.0f + 1.0f / 256.0f));
  for (DType grid : {DType::F16, DType::BF16}) {
    for (size_t misalign : {size_t{0}, size_t{4}, size_t{12}}) {
      Buffer<float> x(values.size(), misalign);
      std::memcpy(x.data(), values.data(), values.size() * 4);
      std::vector<float> got(values.size());
      kernels::round_to_grid(grid, x.data(), got.data(), static_cast<int64_t>(values.size()));
      for (size_t i = 0; i < values.size(); ++i) {
        const float want = grid == DType::F16 ? f16_to_f32(f32_to_f16(values[i]))
                                              : bf16_to_f32(f32_to_bf16(values[i]));
        uint32_t gb, wb;
        std::memcpy(&gb, &got[i], 4);
        std::memcpy(&wb, &want, 4);
        ASSERT_EQ(gb, wb) << dtype_name(grid) << " input " << values[i] << " (index " << i << ")";
      }
    }
  }
}

// The weight-type table: F16 weights pair with activations on the F16 grid, so its matmul equals
// the plain matmul of the rounded activations.
TEST_P(MatmulTest, WeightTableRoundsActivationsForHalfTypes) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto gen = [&] { return normal(rng); };
  for (DType type : kTypes) {
    const kernels::WeightKernels* wk = kernels::find_weight_kernels(type);
    ASSERT_NE(wk, nullptr);
    EXPECT_EQ(wk->activation, type);
    TestMatrix w(type, 9, 37, 0, 0, gen);
    std::vector<float> x(37 * 2);
    for (float& v : x) v = gen();
    std::vector<std::byte> act(wk->activation_bytes(37) * 2);
    wk->convert_activation(x.data(), 37, act.data());
    wk->convert_activation(x.data() + 37, 37, act.data() + wk->activation_bytes(37));
    std::vector<float> got(18), want(18), rounded(x.size());
    wk->matmul(w.ref, act.data(), static_cast<int64_t>(wk->activation_bytes(37)), 2, got.data(), 9,
               0, 9);
    kernels::round_to_grid(type, x.data(), rounded.data(), static_cast<int64_t>(x.size()));
    kernels::matmul(w.ref, rounded.data(), 37, 2, want.data(), 9, 0, 9);
    EXPECT_EQ(got, want) << dtype_name(type);
  }
  EXPECT_EQ(kernels::find_weight_kernels(DType::IQ2_XXS), nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, MatmulTest, ::testing::ValuesIn(kernels::available_isas()),
                         isa_param_name);

TEST(Isa, UnknownNameIsAnErrorListingTheChoices) {
  try {
    kernels::set_isa("avx9000");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("scalar"), std::string::npos) << e.what();
  }
}

TEST(Isa, ScalarIsAlwaysAvailableAndSelectable) {
  const auto isas = kernels::available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), "scalar");
  ScopedIsa restore("scalar");
  EXPECT_EQ(kernels::current_isa(), "scalar");
  kernels::set_isa("auto");
  EXPECT_EQ(kernels::current_isa(), isas.back());
}

}  // namespace
}  // namespace slmkit::testing
