// Kernels over repacked weight layouts (kernels/packed_layouts.h), and the list of them that
// QuantMatmul dispatches on. Q4_0 x 8 rows on the 256-bit x86 targets: lane r of the 8-bit dot of
// a chunk with a broadcast of activations 4c..4c+3 (or 16+4c..) sums row r's products; unsigned
// nibbles make that sum(q a), and the -8 offset enters as -8 sum(a), the accumulator's start.
// Other targets have no packed kernels (an empty list).
//
// Per-target header (Highway's -inl.h convention), included by quant_matmul_hwy.cpp after the
// block kernels and tiles.
#if defined(SLMKIT_KERNELS_QUANT_PACKED_X86_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLMKIT_KERNELS_QUANT_PACKED_X86_INL_H_
#undef SLMKIT_KERNELS_QUANT_PACKED_X86_INL_H_
#else
#define SLMKIT_KERNELS_QUANT_PACKED_X86_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "kernels/packed_layouts.h"
#include "quant/blocks.h"

#if HWY_TARGET != HWY_SCALAR

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

struct PackedQ4_0x8 {
  static constexpr DType kType = DType::Q4_0;
  using Activation = quant::block_q8_0;
  static constexpr int64_t kRows = q4_0x8::kRows;
  static constexpr int64_t kBlockBytes = q4_0x8::kBlockBytes;
  static constexpr int kA = static_cast<int>(sizeof(Activation));
  static constexpr int kQs = static_cast<int>(offsetof(Activation, qs));

  static HWY_INLINE __m256i DotBroadcast(__m256i acc, __m256i u, const uint8_t* a4) {
    int32_t v;
    std::memcpy(&v, a4, 4);
    const __m256i b = _mm256_set1_epi32(v);
#if HWY_TARGET == HWY_AVX3_DL
    return _mm256_dpbusd_epi32(acc, u, b);
#else
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, b), _mm256_set1_epi16(1)));
#endif
  }

  // Blocks [b0, b1) of one group of 8 rows for T tokens, added to y when `accumulate`.
  template <int T>
  static HWY_INLINE void Group(const uint8_t* g, const uint8_t* act, int64_t act_stride, int64_t b0,
                               int64_t b1, const float* scales, const int32_t* offsets, float* y,
                               int64_t y_stride, bool accumulate) {
    __m256 acc[T];
    for (int t = 0; t < T; ++t)
      acc[t] = accumulate ? _mm256_loadu_ps(y + t * y_stride) : _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int64_t b = b0; b < b1; ++b) {
      const uint8_t* blk = g + b * kBlockBytes;
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
      __m256i lo[q4_0x8::kChunks], hi[q4_0x8::kChunks];
      for (int c = 0; c < q4_0x8::kChunks; ++c) {
        const __m256i raw = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(blk + q4_0x8::kScaleBytes + q4_0x8::kChunkBytes * c));
        lo[c] = _mm256_and_si256(raw, low);
        hi[c] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
      }
      for (int t = 0; t < T; ++t) {
        const uint8_t* q = act + t * act_stride + b * kA + kQs;
        __m256i sum = _mm256_set1_epi32(offsets[b * T + t]);
        for (int c = 0; c < q4_0x8::kChunks; ++c) {
          sum = DotBroadcast(sum, lo[c], q + 4 * c);
          sum = DotBroadcast(sum, hi[c], q + 16 + 4 * c);
        }
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum),
                                 _mm256_mul_ps(d, _mm256_set1_ps(scales[b * T + t])), acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * y_stride, acc[t]);
  }

  template <int T>
  static HWY_INLINE void Tile(const MatrixRef& w, const uint8_t* act, int64_t act_stride, float* y,
                              int64_t y_stride, int64_t g0, int64_t g1) {
    const int64_t nb = w.cols / quant::block_q4_0::kElements;
    float scales[T * kMaxBlocks];
    int32_t offsets[T * kMaxBlocks];
    for (int64_t b = 0; b < nb; ++b) {
      for (int t = 0; t < T; ++t) {
        const uint8_t* a = act + t * act_stride + b * kA;
        scales[b * T + t] = LoadHalf(a + offsetof(Activation, d));
        int s = 0;
        for (int j = 0; j < Activation::kElements; ++j) s += static_cast<int8_t>(a[kQs + j]);
        offsets[b * T + t] = -8 * s;
      }
    }
    // Columns in spans of 64 blocks: T tokens' activations for a span (T x 2 KiB) stay in L1
    // while every group of rows streams past them. One or two tokens fit whole.
    const int64_t span = T <= 2 ? nb : 64;
    const auto* base = reinterpret_cast<const uint8_t*>(w.packed);
    for (int64_t b0 = 0; b0 < nb; b0 += span) {
      const int64_t b1 = std::min(nb, b0 + span);
      for (int64_t g = g0; g < g1; ++g) {
        Group<T>(base + g * nb * kBlockBytes, act, act_stride, b0, b1, scales, offsets,
                 y + g * kRows, y_stride, b0 > 0);
      }
    }
  }

  // Whole groups inside [r0, r1) from the packed copy, the rows around them from the GGUF rows.
  static void Matmul(const MatrixRef& w, const std::byte* act, int64_t act_stride, int64_t n_tokens,
                     float* y, int64_t y_stride, int64_t r0, int64_t r1) {
    const int64_t g0 = (r0 + kRows - 1) / kRows, g1 = r1 / kRows;
    if (g0 >= g1 || w.cols / quant::block_q4_0::kElements > kMaxBlocks) {
      return MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    }
    if (r0 < g0 * kRows) MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, r0, g0 * kRows);
    if (g1 * kRows < r1) MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, g1 * kRows, r1);
    const auto* a0 = reinterpret_cast<const uint8_t*>(act);
    int64_t t = 0;
    for (; t + kTileTokens <= n_tokens; t += kTileTokens) {
      Tile<kTileTokens>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
    }
    for (; t + 2 <= n_tokens; t += 2)
      Tile<2>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
    for (; t < n_tokens; ++t)
      Tile<1>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
  }
};

using PackedKernels = KernelList<PackedQ4_0x8>;

#else
using PackedKernels = KernelList<>;
#endif

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#endif  // HWY_TARGET != HWY_SCALAR
#endif  // per-target include guard
