// Quantized weights times quantized activations (kernels/quant_kernels.h): the scalar reference
// against the dequantized f32 dot product, and every ISA's kernels against the reference, over
// odd block counts and misaligned rows.
#include <algorithm>
#include <cmath>
#include <utility>

#include "core/half.h"
#include "kernel_test_util.h"
#include "kernels/quant_kernels.h"
#include "kernels/weight_types.h"
#include "quant/quant.h"

namespace slmkit::testing {
namespace {

using kernels::MatrixRef;

const DType kQuantTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                             DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

int64_t block_size(DType t) {
  return traits(t).block_size;
}

// The quantized types whose weight-table row has a packed layout: a layout added to the table is
// tested without being listed here.
std::vector<DType> packed_types() {
  std::vector<DType> out;
  for (DType type : kQuantTypes) {
    if (kernels::find_weight_kernels(type)->packed) out.push_back(type);
  }
  return out;
}

// `rows` rows of `type` quantized from random floats, `stride` bytes apart, at `misalign` bytes
// past a cache line; `deq` holds the dequantized values.
struct QuantMatrix {
  Buffer<std::byte> storage;
  MatrixRef ref;
  std::vector<float> deq;

  QuantMatrix(DType type, int64_t rows, int64_t cols, int64_t pad_bytes, size_t misalign,
              std::mt19937& rng)
      : storage(static_cast<size_t>(rows * (*row_bytes(type, static_cast<uint64_t>(cols)) +
                                            static_cast<uint64_t>(pad_bytes))),
                misalign),
        deq(static_cast<size_t>(rows * cols)) {
    const auto rb = static_cast<int64_t>(*row_bytes(type, static_cast<uint64_t>(cols)));
    ref = MatrixRef{type, storage.bytes(), rows, cols, rb + pad_bytes};
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (float& v : x) v = dist(rng);
      const std::vector<std::byte> q = quant::quantize_rows(type, x, cols);
      std::memcpy(storage.bytes() + r * ref.row_stride_bytes, q.data(), q.size());
      // Padding bytes of 0x7c make huge f16 scales: reading past a row shows in the result.
      std::memset(storage.bytes() + r * ref.row_stride_bytes + rb, 0x7c,
                  static_cast<size_t>(pad_bytes));
      quant::dequantize(type, q,
                        std::span<float>(deq.data() + r * cols, static_cast<size_t>(cols)));
    }
  }
};

// Activation rows of n_tokens x cols floats quantized to `act`, act_stride bytes apart.
struct QuantActivations {
  std::vector<float> x;  // the floats
  Buffer<std::byte> storage;
  int64_t stride;
  std::vector<float> deq;  // the quantized values as floats

  QuantActivations(DType act, int64_t n_tokens, int64_t cols, size_t misalign, std::mt19937& rng)
      : x(static_cast<size_t>(n_tokens * cols)),
        storage(static_cast<size_t>(n_tokens) * (kernels::quant_activation_bytes(act, cols) + 8),
                misalign),
        stride(static_cast<int64_t>(kernels::quant_activation_bytes(act, cols)) + 8),
        deq(x.size()) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float& v : x) v = dist(rng);
    for (int64_t t = 0; t < n_tokens; ++t) {
      kernels::quantize_activation(act, x.data() + t * cols, cols, row(t));
      const size_t bytes = kernels::quant_activation_bytes(act, cols);
      std::vector<std::byte> copy(row(t), row(t) + bytes);
      quant::dequantize(act, copy,
                        std::span<float>(deq.data() + t * cols, static_cast<size_t>(cols)));
    }
  }
  std::byte* row(int64_t t) { return storage.bytes() + t * stride; }
};

// Per element: the activation's quantization step (its block's scale).
float activation_step(DType act, const std::byte* row, int64_t i) {
  if (act == DType::Q8_K) {
    float d;
    std::memcpy(&d, row + (i / 256) * 292, 4);
    return std::fabs(d);
  }
  uint16_t h;
  std::memcpy(&h, row + (i / 32) * static_cast<int64_t>(traits(act).block_bytes), 2);
  return std::fabs(f16_to_f32(h));
}

// The reference against sum_i w_i x_i of the dequantized weights and the unquantized
// activations. Each activation is off by at most half a step (Q8_0/Q8_1: q = round(x / d),
// then d stored as f16, adding 127 d 2^-11 = 0.062 d; Q8_K: d = amax / 128 in f32, but values
// that would round to +128 clamp to 127, so one step), so |ref - exact| <= sum |w_i| e_i.
// Q8_1 also carries s = d sum(q) rounded to f16, which meets the weight minimum m
// (<= max |w| of the block): 2^-11 |s| <= 2^-11 32 * 127 d < 2 d.
TEST(QuantReference, MatchesDequantizedDotWithinActivationRounding) {
  std::mt19937 rng(7);
  for (DType type : kQuantTypes) {
    const DType act = kernels::quant_activation_type(type);
    for (int64_t nb : {1, 3, 8}) {
      const int64_t n = nb * block_size(type);
      QuantMatrix w(type, 1, n, 0, 0, rng);
      QuantActivations a(act, 1, n, 0, rng);
      const float got = kernels::ref::quant_dot(type, w.ref.row(0), a.row(0), n);
      double exact = 0, bound = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double wi = w.deq[static_cast<size_t>(i)];
        exact += wi * a.x[static_cast<size_t>(i)];
        mag += std::fabs(wi * a.x[static_cast<size_t>(i)]);
        const double step = activation_step(act, a.row(0), i);
        bound += std::fabs(wi) * step * (act == DType::Q8_K ? 1.0 : 0.5 + 0.063);
      }
      if (act == DType::Q8_1) {
        for (int64_t b = 0; b < nb; ++b) {
          double wmax = 0;
          for (int64_t i = b * 32; i < (b + 1) * 32; ++i)
            wmax = std::max(wmax, std::fabs(static_cast<double>(w.deq[static_cast<size_t>(i)])));
          bound += 2.0 * wmax * activation_step(act, a.row(0), b * 32);
        }
      }
      bound += 1e-6 * mag;  // the f32 products of scales and the f32 result
      EXPECT_NEAR(got, exact, bound) << dtype_name(type) << " blocks " << nb;
      // And the bound is not vacuous: it is well under the size of the sum's terms.
      EXPECT_LT(bound, 0.5 * mag) << dtype_name(type);
    }
  }
}

// The sum of the magnitudes of the block terms a kernel adds up, bounding each term from the
// dequantized values (a minimum or offset term is at most the block's largest weight).
double term_magnitude(const QuantMatrix& w, const QuantActivations& a, int64_t r, int64_t t,
                      int64_t cols) {
  double sum = 0;
  const int64_t qk = block_size(w.ref.dtype);
  for (int64_t b = 0; b < cols / qk; ++b) {
    double wmax = 0, s = 0;
    for (int64_t i = b * qk; i < (b + 1) * qk; ++i)
      wmax =
          std::max(wmax, std::fabs(static_cast<double>(w.deq[static_cast<size_t>(r * cols + i)])));
    for (int64_t i = b * qk; i < (b + 1) * qk; ++i) {
      s += (std::fabs(static_cast<double>(w.deq[static_cast<size_t>(r * cols + i)])) + 2 * wmax) *
           std::fabs(static_cast<double>(a.deq[static_cast<size_t>(t * cols + i)]));
    }
    sum += s;
  }
  return sum;
}

// quant_matmul of `m` (w's rows, or w with a packed copy) for rows [r0, r1) against the scalar
// reference of w's rows, within the bound on the block terms; the other rows of y untouched.
void expect_matmul_matches_reference(const MatrixRef& m, const QuantMatrix& w, QuantActivations& a,
                                     int64_t n_tokens, int64_t y_stride, int64_t r0, int64_t r1) {
  const int64_t cols = w.ref.cols;
  std::vector<float> got(static_cast<size_t>(n_tokens * y_stride), -1.0f), want = got;
  kernels::quant_matmul(m, a.row(0), a.stride, n_tokens, got.data(), y_stride, r0, r1);
  kernels::ref::quant_matmul(w.ref, a.row(0), a.stride, n_tokens, want.data(), y_stride, r0, r1);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < y_stride; ++r) {
      const size_t i = static_cast<size_t>(t * y_stride + r);
      if (r < r0 || r >= r1) {
        ASSERT_EQ(got[i], -1.0f) << "wrote outside its rows";
        continue;
      }
      const double bound = gamma(cols / 8 + 32) * term_magnitude(w, a, r, t, cols);
      ASSERT_NEAR(got[i], want[i], bound)
          << dtype_name(w.ref.dtype) << " rows " << w.ref.rows << " [" << r0 << ", " << r1
          << ") tokens " << n_tokens << " packed " << (m.packed != nullptr) << " r " << r << " t "
          << t;
    }
  }
}

class QuantMatmulTest : public IsaTest {};

// Integer sums are exact on every path; only the float sum of per-block (or per-sub-block)
// terms differs in order from the reference, which sums them in double: at most gamma(k) of
// their magnitudes with k the number of float terms (at most 2 per 16 elements plus the final
// lane reduction).
TEST_P(QuantMatmulTest, DotMatchesReference) {
  std::mt19937 rng(11);
  for (DType type : kQuantTypes) {
    const DType act = kernels::quant_activation_type(type);
    for (int64_t nb : {1, 2, 3, 5, 9, 17}) {
      for (size_t misalign : {0u, 1u, 3u}) {
        const int64_t n = nb * block_size(type);
        QuantMatrix w(type, 1, n, 0, misalign, rng);
        QuantActivations a(act, 1, n, misalign * 5 % 7, rng);
        const float want = kernels::ref::quant_dot(type, w.ref.row(0), a.row(0), n);
        const float got = kernels::quant_dot(type, w.ref.row(0), a.row(0), n);
        const double bound = gamma(n / 8 + 32) * term_magnitude(w, a, 0, 0, n);
        EXPECT_NEAR(got, want, bound)
            << dtype_name(type) << " blocks " << nb << " misalign " << misalign;
      }
    }
  }
}

TEST_P(QuantMatmulTest, MatmulMatchesReferenceOverShapes) {
  std::mt19937 rng(13);
  for (DType type : kQuantTypes) {
    const DType act = kernels::quant_activation_type(type);
    for (int64_t nb : {1, 3, 7}) {
      for (int64_t rows : {1, 5, 13}) {
        // 9 tokens: the 8-token tile of the AVX-512 targets, then the single-token path.
        for (int64_t n_tokens : {1, 2, 3, 7, 9}) {
          const int64_t cols = nb * block_size(type);
          QuantMatrix w(type, rows, cols, 3, 1, rng);
          QuantActivations a(act, n_tokens, cols, 2, rng);
          // A sub-range of rows: the others must stay untouched.
          const int64_t r0 = rows > 2 ? 1 : 0;
          ASSERT_NO_FATAL_FAILURE(
              expect_matmul_matches_reference(w.ref, w, a, n_tokens, rows + 3, r0, rows));
        }
      }
    }
  }
}

// Q4_0, Q5_0, Q8_0, Q4_K, Q5_K and Q6_K rows interleaved 8 at a time (pack_matrix): whole groups
// inside the requested rows come from the packed copy, the rest from the rows; the same bound
// holds. The engine packs at load when the ISA then in force has a kernel for it (x86 AVX2 and up),
// and the ISA can change afterwards (set_isa), so every ISA is given the packed copy here: those
// without a packed kernel (the scalar references, hwy_scalar, SSE4) must read the rows and still
// match. Token counts cover every tile (8, 4, 2, 1 tokens; AVX3_DL reads two groups at once from 4
// tokens).
TEST_P(QuantMatmulTest, PackedMatchesReference) {
  std::mt19937 rng(19);
  for (DType type : packed_types()) {
    for (int64_t nb : {1, 3, 8}) {
      for (int64_t rows : {8, 16, 29, 40}) {
        for (int64_t n_tokens : {1, 2, 3, 4, 11, 16}) {
          const int64_t cols = nb * block_size(type);
          QuantMatrix w(type, rows, cols, 0, 1, rng);
          size_t bytes = 0;
          {
            ScopedIsa best("auto");
            bytes = kernels::packed_bytes(w.ref);
          }
          if (bytes == 0) GTEST_SKIP() << "no ISA of this build and CPU packs " << dtype_name(type);
          std::vector<std::byte> packed(bytes + 1);
          kernels::pack_matrix(w.ref, packed.data() + 1);  // misaligned on purpose
          MatrixRef m = w.ref;
          m.packed = packed.data() + 1;
          QuantActivations a(kernels::quant_activation_type(type), n_tokens, cols, 3, rng);
          for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, rows}, {3, rows - 2}, {1, 7}}) {
            ASSERT_NO_FATAL_FAILURE(
                expect_matmul_matches_reference(m, w, a, n_tokens, rows, r0, r1));
          }
        }
      }
    }
  }
}

// The engine packs a matrix a slice of whole groups at a time: a slice's packed bytes are the
// prefix of the whole matrix's.
TEST_P(QuantMatmulTest, PackedSliceIsAPrefixOfTheWhole) {
  std::mt19937 rng(23);
  for (DType type : packed_types()) {
    ScopedIsa best("auto");
    QuantMatrix w(type, 29, 3 * block_size(type), 0, 0, rng);
    const size_t bytes = kernels::packed_bytes(w.ref);
    if (bytes == 0) GTEST_SKIP() << "this CPU packs no " << dtype_name(type);
    const int64_t group = kernels::packed_group_rows(w.ref);
    ASSERT_EQ(group, 8);
    std::vector<std::byte> whole(bytes);
    kernels::pack_matrix(w.ref, whole.data());
    MatrixRef slice = w.ref;
    slice.rows = 2 * group;
    const size_t slice_bytes = kernels::packed_bytes(slice);
    ASSERT_EQ(slice_bytes * 3, bytes * 2) << "29 rows hold 3 whole groups";
    std::vector<std::byte> part(slice_bytes);
    kernels::pack_matrix(slice, part.data());
    EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin())) << dtype_name(type);
  }
}

// A packed matrix's rows read back (embedding lookups of a repacked table, whose file pages the
// engine hands back) as the GGUF rows dequantize, bit for bit, the rows outside whole groups
// included.
TEST_P(QuantMatmulTest, PackedRowsReadBackAsTheRows) {
  std::mt19937 rng(37);
  for (DType type : packed_types()) {
    const kernels::WeightKernels* k = kernels::find_weight_kernels(type);
    ASSERT_NE(k, nullptr);
    QuantMatrix w(type, 19, 2 * block_size(type), 0, 1, rng);
    size_t bytes = 0;
    {
      ScopedIsa best("auto");
      bytes = kernels::packed_bytes(w.ref);
    }
    if (bytes == 0) GTEST_SKIP() << "no ISA of this build and CPU packs " << dtype_name(type);
    std::vector<std::byte> packed(bytes + 1);
    kernels::pack_matrix(w.ref, packed.data() + 1);
    MatrixRef m = w.ref;
    m.packed = packed.data() + 1;
    std::vector<float> got(static_cast<size_t>(w.ref.cols));
    for (int64_t r = 0; r < w.ref.rows; ++r) {
      k->row_of(m, r, got.data());
      EXPECT_TRUE(std::equal(got.begin(), got.end(), w.deq.begin() + r * w.ref.cols))
          << dtype_name(type) << " row " << r;
    }
  }
}

// The weight table's rows: activation conversion is quantize_row_q8_*, row_to_f32 dequantizes
// bit-exactly at any alignment, and matmul is quant_matmul.
TEST_P(QuantMatmulTest, WeightTableRows) {
  std::mt19937 rng(17);
  for (DType type : kQuantTypes) {
    const kernels::WeightKernels* k = kernels::find_weight_kernels(type);
    ASSERT_NE(k, nullptr) << dtype_name(type);
    EXPECT_EQ(k->activation, kernels::quant_activation_type(type));
    const int64_t cols = 3 * block_size(type);
    QuantMatrix w(type, 2, cols, 1, 3, rng);
    std::vector<float> row(static_cast<size_t>(cols));
    k->row_to_f32(w.ref.row(1), row.data(), cols);
    EXPECT_TRUE(std::equal(row.begin(), row.end(), w.deq.begin() + cols)) << dtype_name(type);
    EXPECT_EQ(k->activation_bytes(cols), *row_bytes(k->activation, static_cast<uint64_t>(cols)));
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantMatmulTest, ::testing::ValuesIn(kernels::available_isas()),
                         isa_param_name);

}  // namespace
}  // namespace slmkit::testing
