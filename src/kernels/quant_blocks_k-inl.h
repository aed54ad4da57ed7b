// Block kernels of the K-quants (256-element super-blocks) against Q8_K activation blocks, on
// the primitives of quant_simd_*-inl.h; the interface is quant_blocks_legacy-inl.h's. Sub-block
// scales are applied as 16-bit integer factors inside the integer sums; one float multiply-add
// per super-block accumulates them, and the minimum / offset terms go through the activation
// block's per-16 sums (bsums).
//
// Per-target header (Highway's -inl.h convention), included by quant_matmul_hwy.cpp.
#if defined(SLMKIT_KERNELS_QUANT_BLOCKS_K_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLMKIT_KERNELS_QUANT_BLOCKS_K_INL_H_
#undef SLMKIT_KERNELS_QUANT_BLOCKS_K_INL_H_
#else
#define SLMKIT_KERNELS_QUANT_BLOCKS_K_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "quant/blocks.h"

#if HWY_TARGET != HWY_SCALAR

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {

// What every K-quant kernel reads of a Q8_K activation block.
struct KQuantBase {
  using Activation = quant::block_q8_k;
  static HWY_INLINE float Scale(const uint8_t* a) {
    float v;
    std::memcpy(&v, a + offsetof(Activation, d), 4);
    return v;
  }
  static HWY_INLINE const uint8_t* Qs(const uint8_t* a) { return a + offsetof(Activation, qs); }
  static HWY_INLINE const uint8_t* BSums(const uint8_t* a) {
    return a + offsetof(Activation, bsums);
  }
};

// Q2_K: element 128k + 32s + l is bits 2s of qs[32k + l]; scale (low nibble) and min (high
// nibble) per 16. The mins' products with the activation sums go into the float accumulator's
// lanes, as ggml's kernels do: no horizontal sum per block.
struct KQ2_K : KQuantBase {
  static constexpr DType kType = DType::Q2_K;
  using Weight = quant::block_q2_k;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float*) {
    const uint8_t* sc = w + offsetof(Weight, scales);
    const K16Scales scales = K16Scales::Nibbles(sc, 0), mins = K16Scales::Nibbles(sc, 4);
    I32 isum[T];
    for (int t = 0; t < T; ++t) isum[t] = ZeroI();
    for (int k = 0; k < 2; ++k) {
      const C32 raw = Load32(w + offsetof(Weight, qs) + 32 * k);
      for (int s = 0; s < 4; ++s) {
        const C32 q = ShrAnd(raw, 2 * s, 3);
        const Scale16 pair = scales.Pair(8 * k + 2 * s);
        for (int t = 0; t < T; ++t)
          isum[t] = Add(isum[t], DotUS(q, Load32(Qs(a[t]) + 128 * k + 32 * s), pair));
      }
    }
    const float d = LoadHalf(w + offsetof(Weight, d)), dmin = LoadHalf(w + offsetof(Weight, dmin));
    for (int t = 0; t < T; ++t) {
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      acc[t] = MulAddI(mins.OffsetProducts(BSums(a[t])), -dmin * da[t], acc[t]);
    }
  }
};

// Q3_K: unsigned 0..7 = low 2 bits | high bit << 2; the value is that minus 4, applied through
// the activation sums. Its 16 6-bit scales (stored plus 32) from the 12 packed bytes: scale j is
// the low (j < 8) or high nibble of byte j % 8, with bits 2 (j / 4) of byte 8 + j % 4 as bits
// 4-5. Four bytes at a time in 32-bit words: every shift is masked back into its own byte, so the
// result does not depend on the byte order.
HWY_INLINE void Q3ScaleWords(const uint8_t* packed, uint32_t* words) {
  uint32_t u[3];
  std::memcpy(u, packed, 12);
  constexpr uint32_t kLow4 = 0x0F0F0F0F, kLow2 = 0x03030303;
  words[0] = (u[0] & kLow4) | ((u[2] & kLow2) << 4);
  words[1] = (u[1] & kLow4) | (((u[2] >> 2) & kLow2) << 4);
  words[2] = ((u[0] >> 4) & kLow4) | (((u[2] >> 4) & kLow2) << 4);
  words[3] = ((u[1] >> 4) & kLow4) | (((u[2] >> 6) & kLow2) << 4);
}

struct KQ3_K : KQuantBase {
  static constexpr DType kType = DType::Q3_K;
  using Weight = quant::block_q3_k;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float*) {
    uint32_t words[4];
    Q3ScaleWords(w + offsetof(Weight, scales), words);
    const K16Scales scales = K16Scales::Words(words, 32);
    const C32 hm = Load32(w + offsetof(Weight, hmask));
    I32 isum[T];
    for (int t = 0; t < T; ++t) isum[t] = ZeroI();
    for (int k = 0; k < 2; ++k) {
      const C32 raw = Load32(w + offsetof(Weight, qs) + 32 * k);
      for (int s = 0; s < 4; ++s) {
        const int bit = 4 * k + s;
        // High bit to position 2: shift right by bit - 2 (or left by 2 - bit).
        const C32 high = bit >= 2 ? ShrAnd(hm, bit - 2, 4) : ShlAnd(hm, 2 - bit, 4);
        const C32 q = Or(ShrAnd(raw, 2 * s, 3), high);
        const Scale16 pair = scales.Pair(8 * k + 2 * s);
        for (int t = 0; t < T; ++t) {
          isum[t] = Add(isum[t], DotUS(q, Load32(Qs(a[t]) + 128 * k + 32 * s), pair));
        }
      }
    }
    const float d = LoadHalf(w + offsetof(Weight, d));
    for (int t = 0; t < T; ++t) {
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      acc[t] = MulAddI(scales.OffsetProducts(BSums(a[t])), -4.0f * d * da[t], acc[t]);
    }
  }
};

// Q4_K / Q5_K: sub-block s (32 elements) is the nibble (s odd: high) of qs[32 (s / 2) + l], Q5_K
// plus bit s of qh[l] as 16; 6-bit scale and min per sub-block (K4Scales).
template <class W>
struct KQ45_K : KQuantBase {
  static constexpr bool kFive = sizeof(W) == sizeof(quant::block_q5_k);
  static constexpr DType kType = kFive ? DType::Q5_K : DType::Q4_K;
  using Weight = W;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    const uint8_t* qs = w + offsetof(W, qs);
    const K4Scales scales(w + offsetof(W, scales));
    C32 hb{};
    if constexpr (kFive) hb = Load32(w + offsetof(quant::block_q5_k, qh));
    I32 isum[T];
    for (int t = 0; t < T; ++t) isum[t] = ZeroI();
    for (int p = 0; p < 4; ++p) {
      const C32 raw = Load32(qs + 32 * p);
      for (int half = 0; half < 2; ++half) {
        const int s = 2 * p + half;
        C32 q = ShrAnd(raw, 4 * half, 0x0F);
        if constexpr (kFive) {
          q = Or(q, s >= 4 ? ShrAnd(hb, s - 4, 0x10) : ShlAnd(hb, 4 - s, 0x10));
        }
        const Scale16 sc = scales.Sub(s);
        for (int t = 0; t < T; ++t) isum[t] = Add(isum[t], DotUS(q, Load32(Qs(a[t]) + 32 * s), sc));
      }
    }
    const float d = LoadHalf(w + offsetof(W, d)), dmin = LoadHalf(w + offsetof(W, dmin));
    for (int t = 0; t < T; ++t) {
      const int mins = scales.template MinSum<T>(BSums(a[t]));
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      extra[t] -= dmin * da[t] * static_cast<float>(mins);
    }
  }
};
using KQ4_K = KQ45_K<quant::block_q4_k>;
using KQ5_K = KQ45_K<quant::block_q5_k>;

// Q6_K: element 128k + 32s + l is the nibble (s >= 2: high) of ql[64k + 32 (s % 2) + l] | bits
// 2s of qh[32k + l] << 4; minus 32, applied through the activation sums; i8 scale per 16.
struct KQ6_K : KQuantBase {
  static constexpr DType kType = DType::Q6_K;
  using Weight = quant::block_q6_k;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    const K16Scales scales(reinterpret_cast<const int8_t*>(w + offsetof(Weight, scales)));
    I32 isum[T];
    for (int t = 0; t < T; ++t) isum[t] = ZeroI();
    for (int k = 0; k < 2; ++k) {
      const C32 qh = Load32(w + offsetof(Weight, qh) + 32 * k);
      const uint8_t* ql = w + offsetof(Weight, ql) + 64 * k;
      const C32 l0 = Load32(ql), l1 = Load32(ql + 32);
      for (int s = 0; s < 4; ++s) {
        const C32 lo = ShrAnd(s % 2 ? l1 : l0, s < 2 ? 0 : 4, 0x0F);
        const int shift = 2 * s;  // bits 2s..2s+1 to bits 4..5
        const C32 hi = shift <= 4 ? ShlAnd(qh, 4 - shift, 0x30) : ShrAnd(qh, shift - 4, 0x30);
        const C32 q = Or(lo, hi);
        const Scale16 sc = scales.Pair(8 * k + 2 * s);
        for (int t = 0; t < T; ++t) {
          isum[t] = Add(isum[t], DotUS(q, Load32(Qs(a[t]) + 128 * k + 32 * s), sc));
        }
      }
    }
    const float d = LoadHalf(w + offsetof(Weight, d));
    for (int t = 0; t < T; ++t) {
      const int offset = scales.OffsetSum(BSums(a[t]));
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      extra[t] -= 32.0f * d * da[t] * static_cast<float>(offset);
    }
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#endif  // HWY_TARGET != HWY_SCALAR
#endif  // per-target include guard
