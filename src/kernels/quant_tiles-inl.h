// Rows x tokens for any block kernel K (quant_blocks_*-inl.h): rows are processed one at a time
// for a tile of T tokens, so each weight block is unpacked once and used T times while the
// activation blocks stay in L1.
//
// Per-target header (Highway's -inl.h convention), included by quant_matmul_hwy.cpp.
#if defined(SLMKIT_KERNELS_QUANT_TILES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLMKIT_KERNELS_QUANT_TILES_INL_H_
#undef SLMKIT_KERNELS_QUANT_TILES_INL_H_
#else
#define SLMKIT_KERNELS_QUANT_TILES_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/kernels.h"

#if HWY_TARGET != HWY_SCALAR

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {

// A list of kernel types (block kernels, packed kernels), each naming its weight type kType.
template <class... K>
struct KernelList {};

// A kernel's block geometry, from its block structs.
template <class K>
struct Geometry {
  static constexpr int kBlock = K::Weight::kElements;
  static constexpr int kW = static_cast<int>(sizeof(typename K::Weight));
  static constexpr int kA = static_cast<int>(sizeof(typename K::Activation));
};

// Activation scales of a tile of tokens as f32, [block][token], converted once per tile rather
// than once per row; rows longer than kMaxBlocks blocks convert them per block instead.
constexpr int64_t kMaxBlocks = 1024;

constexpr int64_t kDecodePrefetchBytes = 8 * 1024;

template <class K, int T>
HWY_INLINE void RowTokens(const uint8_t* w, const uint8_t* act, int64_t act_stride, int64_t nb,
                          const float* scales, float* y, int64_t y_stride) {
  using G = Geometry<K>;
  F32 acc[T];
  float extra[T];
  for (int t = 0; t < T; ++t) {
    acc[t] = ZeroF();
    extra[t] = 0.0f;
  }
  const uint8_t* a[T];
  float da[T];
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (T == 1) {
      // Decode streams the weights once: fetch kDecodePrefetchBytes ahead, past the 4 KiB pages
      // where hardware prefetchers stop (tinyllama Q4_K_M, 1 thread: tg +7%; 4 and 16 KiB less).
      const uint8_t* p = w + b * G::kW + kDecodePrefetchBytes;
      for (int i = 0; i < G::kW; i += 64) hwy::Prefetch(p + i);
    }
    for (int t = 0; t < T; ++t) a[t] = act + t * act_stride + b * G::kA;
    if (scales) {
      K::template Block<T>(w + b * G::kW, a, scales + b * T, acc, extra);
    } else {
      for (int t = 0; t < T; ++t) da[t] = K::Scale(a[t]);
      K::template Block<T>(w + b * G::kW, a, da, acc, extra);
    }
  }
  for (int t = 0; t < T; ++t) y[t * y_stride] = SumF(acc[t]) + extra[t];
}

template <class K, int T>
HWY_INLINE void TokenTile(const MatrixRef& w, const uint8_t* act, int64_t act_stride, float* y,
                          int64_t y_stride, int64_t r0, int64_t r1) {
  using G = Geometry<K>;
  const int64_t nb = w.cols / G::kBlock;
  float scales[T * kMaxBlocks];
  const bool tabulate = nb <= kMaxBlocks;
  if (tabulate) {
    for (int64_t b = 0; b < nb; ++b)
      for (int t = 0; t < T; ++t) scales[b * T + t] = K::Scale(act + t * act_stride + b * G::kA);
  }
  for (int64_t r = r0; r < r1; ++r) {
    RowTokens<K, T>(reinterpret_cast<const uint8_t*>(w.row(r)), act, act_stride, nb,
                    tabulate ? scales : nullptr, y + r, y_stride);
  }
}

// AVX-512 targets have 32 vector registers: room for 8 tokens' accumulators.
constexpr int kTileTokens = (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL) ? 8 : 4;

template <class K>
HWY_INLINE void MatmulK(const MatrixRef& w, const std::byte* act, int64_t act_stride,
                        int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  const auto* a0 = reinterpret_cast<const uint8_t*>(act);
  int64_t t = 0;
  for (; t + kTileTokens <= n_tokens; t += kTileTokens) {
    TokenTile<K, kTileTokens>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, r0,
                              r1);
  }
  if constexpr (kTileTokens > 4) {
    for (; t + 4 <= n_tokens; t += 4)
      TokenTile<K, 4>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, r0, r1);
  }
  for (; t + 2 <= n_tokens; t += 2)
    TokenTile<K, 2>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, r0, r1);
  for (; t < n_tokens; ++t)
    TokenTile<K, 1>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, r0, r1);
}

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#endif  // HWY_TARGET != HWY_SCALAR
#endif  // per-target include guard
