// SIMD dot products of quantized weight rows with quantized activation rows (quant_kernels.h),
// compiled per Highway target. Every weight block is unpacked into 8-bit integers 32 at a time
// and multiplied with the activation bytes in integer arithmetic; one float multiply-add per block
// (legacy types) or per 256-element super-block (K-quants, whose sub-block scales are applied as
// 16-bit integer factors) accumulates into float lanes, summed once per row.
//
// The 32-element chunk (C32) and its few operations have two implementations: on AVX2 and
// AVX-512 targets 256-bit intrinsics (maddubs / madd: u8 x s8 products summed in pairs to i16,
// then to i32, as ggml's AVX2 kernels; vpdpbusd where VNNI is there), elsewhere portable Highway
// code on two 128-bit halves that widens to i16 and uses ReorderWidenMulAccumulate. maddubs
// saturates at i16: every use keeps |u| |a| + |u'| |a'| below 2^15 (unsigned weights <= 63 with
// activations >= -128, or signed weights as |w| <= 128 times activations of Q8_0, which are within
// +-127). HWY_SCALAR (one-lane vectors) runs the scalar references.
//
// Rows are processed one at a time for a tile of T tokens: each weight block is unpacked once
// and used T times; activation blocks stay in L1.
#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "kernels/isa.h"
#include "kernels/quant_kernels.h"
#include "quant/blocks.h"

#include "kernels/hwy_config.h"  // must precede Highway
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quant_matmul_hwy.cpp"
#include "hwy/cache_control.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// This file is compiled once per target (foreach_target.h), so the x86 switch must be reset
// each time: left over from AVX2, it broke the EMU128 target that clang builds.
#undef SLMKIT_QK_X86
#if HWY_TARGET != HWY_SCALAR

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define SLMKIT_QK_X86 1
// ---- 256-bit x86 ----------------------------------------------------------------------------
struct C32 {
  __m256i v;
};
struct I32 {
  __m256i v;  // 8 partial sums
};
struct F32 {
  __m256 v;
};
HWY_INLINE C32 Load32(const uint8_t* p) {
  return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))};
}
// Elements j < 16: low nibble of p[j]; j >= 16: high nibble of p[j - 16] (legacy Q4 layout).
HWY_INLINE C32 NibblesOf16(const uint8_t* p) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i v = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
  return {_mm256_and_si256(v, _mm256_set1_epi8(0x0F))};
}
// (v >> n) & mask per byte.
HWY_INLINE C32 ShrAnd(C32 a, int n, uint8_t mask) {
  const __m256i s = _mm256_srl_epi16(a.v, _mm_cvtsi32_si128(n));
  return {_mm256_and_si256(s, _mm256_set1_epi8(static_cast<char>(mask)))};
}
// (v << n) & mask per byte.
HWY_INLINE C32 ShlAnd(C32 a, int n, uint8_t mask) {
  const __m256i s = _mm256_sll_epi16(a.v, _mm_cvtsi32_si128(n));
  return {_mm256_and_si256(s, _mm256_set1_epi8(static_cast<char>(mask)))};
}
HWY_INLINE C32 Or(C32 a, C32 b) {
  return {_mm256_or_si256(a.v, b.v)};
}
HWY_INLINE C32 SubBytes(C32 a, uint8_t k) {
  return {_mm256_sub_epi8(a.v, _mm256_set1_epi8(static_cast<char>(k)))};
}
// Byte j = 0x10 where bit j of bits is set (ggml's bytes_from_bits_32).
HWY_INLINE C32 FifthBits(uint32_t bits) {
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101,
                                         0x0000000000000000);
  __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
  b = _mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  b = _mm256_cmpeq_epi8(b, _mm256_set1_epi64x(-1));
  return {_mm256_and_si256(b, _mm256_set1_epi8(0x10))};
}
// sum u[j] a[j] with u unsigned, the halves (elements 0-15, 16-31) scaled by s0, s1.
HWY_INLINE I32 DotUS(C32 u, C32 a, int16_t s0, int16_t s1) {
  const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(s1), _mm_set1_epi16(s0));
  return {_mm256_madd_epi16(_mm256_maddubs_epi16(u.v, a.v), scale)};
}
HWY_INLINE I32 DotUS(C32 u, C32 a) {
#if HWY_TARGET == HWY_AVX3_DL
  return {_mm256_dpbusd_epi32(_mm256_setzero_si256(), u.v, a.v)};  // no i16 saturation
#else
  return {_mm256_madd_epi16(_mm256_maddubs_epi16(u.v, a.v), _mm256_set1_epi16(1))};
#endif
}
// sum w[j] a[j] with w signed: |w| times a with w's sign.
HWY_INLINE I32 DotSS(C32 w, C32 a) {
  return DotUS({_mm256_sign_epi8(w.v, w.v)}, {_mm256_sign_epi8(a.v, w.v)});
}
HWY_INLINE I32 Add(I32 a, I32 b) {
  return {_mm256_add_epi32(a.v, b.v)};
}
HWY_INLINE I32 ZeroI() {
  return {_mm256_setzero_si256()};
}
HWY_INLINE F32 ZeroF() {
  return {_mm256_setzero_ps()};
}
HWY_INLINE F32 MulAddI(I32 i, float s, F32 acc) {
  return {_mm256_fmadd_ps(_mm256_cvtepi32_ps(i.v), _mm256_set1_ps(s), acc.v)};
}
HWY_INLINE float SumF(F32 a) {
  const __m128 x = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  const __m128 y = _mm_add_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_add_ss(y, _mm_movehdup_ps(y)));
}

#else
// ---- portable: two 128-bit halves -----------------------------------------------------------
using D8 = hn::Full128<uint8_t>;
using DI8 = hn::Full128<int8_t>;
using D16 = hn::Full128<int16_t>;
using DU16 = hn::Full128<uint16_t>;
using DI32 = hn::Full128<int32_t>;
using DF32 = hn::Full128<float>;
using V8 = hn::Vec<D8>;
// Constructors written out: implicit ones are not compiled for the target (no target attribute),
// and GCC then refuses to inline Highway's always-inline vector constructors into them (NEON:
// "target specific option mismatch" at `F32 acc[T]`).
struct C32 {
  V8 lo, hi;  // elements 0-15, 16-31
  HWY_INLINE C32() {}
  HWY_INLINE C32(V8 l, V8 h) : lo(l), hi(h) {}
};
struct I32 {
  hn::Vec<DI32> v;
  HWY_INLINE I32() {}
  HWY_INLINE I32(hn::Vec<DI32> x) : v(x) {}  // implicit: {x}
};
struct F32 {
  hn::Vec<DF32> v;
  HWY_INLINE F32() {}
  HWY_INLINE F32(hn::Vec<DF32> x) : v(x) {}  // implicit: {x}
};
HWY_INLINE C32 Load32(const uint8_t* p) {
  const D8 d;
  return {hn::LoadU(d, p), hn::LoadU(d, p + 16)};
}
HWY_INLINE C32 NibblesOf16(const uint8_t* p) {
  const D8 d;
  const DU16 d16;
  const V8 x = hn::LoadU(d, p);
  const V8 m = hn::Set(d, 0x0F);
  return {hn::And(x, m), hn::And(hn::BitCast(d, hn::ShiftRight<4>(hn::BitCast(d16, x))), m)};
}
HWY_INLINE V8 ShrAnd8(V8 v, int n, uint8_t mask) {
  const D8 d;
  const DU16 d16;
  return hn::And(hn::BitCast(d, hn::ShiftRightSame(hn::BitCast(d16, v), n)), hn::Set(d, mask));
}
HWY_INLINE V8 ShlAnd8(V8 v, int n, uint8_t mask) {
  const D8 d;
  const DU16 d16;
  return hn::And(hn::BitCast(d, hn::ShiftLeftSame(hn::BitCast(d16, v), n)), hn::Set(d, mask));
}
HWY_INLINE C32 ShrAnd(C32 a, int n, uint8_t mask) {
  return {ShrAnd8(a.lo, n, mask), ShrAnd8(a.hi, n, mask)};
}
HWY_INLINE C32 ShlAnd(C32 a, int n, uint8_t mask) {
  return {ShlAnd8(a.lo, n, mask), ShlAnd8(a.hi, n, mask)};
}
HWY_INLINE C32 Or(C32 a, C32 b) {
  return {hn::Or(a.lo, b.lo), hn::Or(a.hi, b.hi)};
}
HWY_INLINE C32 SubBytes(C32 a, uint8_t k) {
  const D8 d;
  return {hn::Sub(a.lo, hn::Set(d, k)), hn::Sub(a.hi, hn::Set(d, k))};
}
HWY_INLINE C32 FifthBits(uint32_t bits) {
  alignas(16) uint8_t b[32];
  for (int j = 0; j < 32; ++j) b[j] = static_cast<uint8_t>(((bits >> j) & 1u) << 4);
  return Load32(b);
}
// 16 products of one half, widened to i16 (weights times `scale`), summed into i32 lanes.
template <bool kSigned>
HWY_INLINE void DotHalf(V8 w, V8 a, int16_t scale, hn::Vec<DI32>& s0, hn::Vec<DI32>& s1) {
  const D16 d16;
  const DI32 d32;
  const hn::Half<D8> dh;
  const hn::Half<DI8> dhi;
  const DI8 di8;
  const auto ai = hn::BitCast(di8, a);
  hn::Vec<D16> wl, wh;
  if constexpr (kSigned) {
    const auto wi = hn::BitCast(di8, w);
    wl = hn::PromoteTo(d16, hn::LowerHalf(dhi, wi));
    wh = hn::PromoteTo(d16, hn::UpperHalf(dhi, wi));
  } else {
    wl = hn::PromoteTo(d16, hn::LowerHalf(dh, w));
    wh = hn::PromoteTo(d16, hn::UpperHalf(dh, w));
  }
  if (scale != 1) {
    wl = hn::Mul(wl, hn::Set(d16, scale));
    wh = hn::Mul(wh, hn::Set(d16, scale));
  }
  s0 = hn::ReorderWidenMulAccumulate(d32, wl, hn::PromoteTo(d16, hn::LowerHalf(dhi, ai)), s0, s1);
  s0 = hn::ReorderWidenMulAccumulate(d32, wh, hn::PromoteTo(d16, hn::UpperHalf(dhi, ai)), s0, s1);
}
HWY_INLINE I32 DotUS(C32 u, C32 a, int16_t s0 = 1, int16_t s1 = 1) {
  const DI32 d32;
  auto x = hn::Zero(d32), y = hn::Zero(d32);
  DotHalf<false>(u.lo, a.lo, s0, x, y);
  DotHalf<false>(u.hi, a.hi, s1, x, y);
  return {hn::Add(x, y)};
}
HWY_INLINE I32 DotSS(C32 w, C32 a) {
  const DI32 d32;
  auto x = hn::Zero(d32), y = hn::Zero(d32);
  DotHalf<true>(w.lo, a.lo, 1, x, y);
  DotHalf<true>(w.hi, a.hi, 1, x, y);
  return {hn::Add(x, y)};
}
HWY_INLINE I32 Add(I32 a, I32 b) {
  return {hn::Add(a.v, b.v)};
}
HWY_INLINE I32 ZeroI() {
  return {hn::Zero(DI32())};
}
HWY_INLINE F32 ZeroF() {
  return {hn::Zero(DF32())};
}
HWY_INLINE F32 MulAddI(I32 i, float s, F32 acc) {
  const DF32 df;
  return {hn::MulAdd(hn::ConvertTo(df, i.v), hn::Set(df, s), acc.v)};
}
HWY_INLINE float SumF(F32 a) {
  return hn::GetLane(hn::SumOfLanes(DF32(), a.v));
}
#endif

// ---- per-type block kernels -----------------------------------------------------------------
// Each: Block<T>(w, a[T], da[T], acc[T], extra[T]) adds weight block w times activation block
// a[t] (whose scale, as f32, is da[t]) to acc[t] (float lanes) and extra[t] (scalar terms:
// minimums, offsets).

HWY_INLINE float H(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
#ifdef SLMKIT_QK_X86
  return _cvtsh_ss(bits);  // F16C, which every AVX2 target has; exact like f16_to_f32
#else
  return f16_to_f32(bits);
#endif
}
HWY_INLINE float F(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
HWY_INLINE int16_t I16(const uint8_t* p) {
  int16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

struct KQ8_0 {
  static HWY_INLINE float Scale(const uint8_t* a) { return H(a); }
  static constexpr int kBlock = 32, kW = 34, kA = 34;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float*) {
    const C32 q = Load32(w + 2);
    const float d = H(w);
    for (int t = 0; t < T; ++t) acc[t] = MulAddI(DotSS(q, Load32(a[t] + 2)), d * da[t], acc[t]);
  }
};
struct KQ4_0 {
  static HWY_INLINE float Scale(const uint8_t* a) { return H(a); }
  static constexpr int kBlock = 32, kW = 18, kA = 34;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float*) {
    const C32 q = SubBytes(NibblesOf16(w + 2), 8);
    const float d = H(w);
    for (int t = 0; t < T; ++t) acc[t] = MulAddI(DotSS(q, Load32(a[t] + 2)), d * da[t], acc[t]);
  }
};
struct KQ5_0 {
  static HWY_INLINE float Scale(const uint8_t* a) { return H(a); }
  static constexpr int kBlock = 32, kW = 22, kA = 34;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float*) {
    uint32_t qh;
    std::memcpy(&qh, w + 2, 4);
    const C32 q = SubBytes(Or(NibblesOf16(w + 6), FifthBits(qh)), 16);
    const float d = H(w);
    for (int t = 0; t < T; ++t) acc[t] = MulAddI(DotSS(q, Load32(a[t] + 2)), d * da[t], acc[t]);
  }
};
// Q4_1 / Q5_1 with Q8_1: d_w d_a sum(q a) + m_w s_a.
struct KQ4_1 {
  static HWY_INLINE float Scale(const uint8_t* a) { return H(a); }
  static constexpr int kBlock = 32, kW = 20, kA = 36;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    const C32 q = NibblesOf16(w + 4);
    const float d = H(w), m = H(w + 2);
    for (int t = 0; t < T; ++t) {
      acc[t] = MulAddI(DotUS(q, Load32(a[t] + 4)), d * da[t], acc[t]);
      extra[t] += m * H(a[t] + 2);
    }
  }
};
struct KQ5_1 {
  static HWY_INLINE float Scale(const uint8_t* a) { return H(a); }
  static constexpr int kBlock = 32, kW = 24, kA = 36;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    uint32_t qh;
    std::memcpy(&qh, w + 4, 4);
    const C32 q = Or(NibblesOf16(w + 8), FifthBits(qh));
    const float d = H(w), m = H(w + 2);
    for (int t = 0; t < T; ++t) {
      acc[t] = MulAddI(DotUS(q, Load32(a[t] + 4)), d * da[t], acc[t]);
      extra[t] += m * H(a[t] + 2);
    }
  }
};

// Q8_K activation block: d (f32) at 0, qs at 4, bsums (i16 x 16) at 260.
constexpr int kAK = 292;
HWY_INLINE const uint8_t* AQs(const uint8_t* a) {
  return a + 4;
}
HWY_INLINE int BSum(const uint8_t* a, int j) {
  return I16(a + 260 + 2 * j);
}

// Q2_K: scales[16] at 0, qs[64] at 16, d at 80, dmin at 82. Element 128k + 32s + l is bits 2s of
// qs[32k + l]; scale (low nibble) and min (high nibble) per 16.
struct KQ2_K {
  static HWY_INLINE float Scale(const uint8_t* a) { return F(a); }
  static constexpr int kBlock = 256, kW = 84, kA = kAK;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    const uint8_t* sc = w;
    I32 isum[T];
    for (int t = 0; t < T; ++t) isum[t] = ZeroI();
    for (int k = 0; k < 2; ++k) {
      const C32 raw = Load32(w + 16 + 32 * k);
      for (int s = 0; s < 4; ++s) {
        const C32 q = ShrAnd(raw, 2 * s, 3);
        const int j = 8 * k + 2 * s;
        const auto s0 = static_cast<int16_t>(sc[j] & 0x0F),
                   s1 = static_cast<int16_t>(sc[j + 1] & 0x0F);
        for (int t = 0; t < T; ++t)
          isum[t] = Add(isum[t], DotUS(q, Load32(AQs(a[t]) + 128 * k + 32 * s), s0, s1));
      }
    }
    const float d = H(w + 80), dmin = H(w + 82);
    for (int t = 0; t < T; ++t) {
      int mins = 0;
      for (int j = 0; j < 16; ++j) mins += BSum(a[t], j) * (sc[j] >> 4);
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      extra[t] -= dmin * da[t] * static_cast<float>(mins);
    }
  }
};

// Q3_K: hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at 108. Unsigned 0..7 = low 2 bits |
// high bit << 2; the value is that minus 4, applied through the activation sums.
HWY_INLINE int Q3Scale(const uint8_t* sc, int j) {
  const int lo = j < 8 ? (sc[j] & 0x0F) : (sc[j - 8] >> 4);
  const int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}
struct KQ3_K {
  static HWY_INLINE float Scale(const uint8_t* a) { return F(a); }
  static constexpr int kBlock = 256, kW = 110, kA = kAK;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    int16_t scale[16];
    for (int j = 0; j < 16; ++j) scale[j] = static_cast<int16_t>(Q3Scale(w + 96, j));
    const C32 hm = Load32(w);
    I32 isum[T];
    for (int t = 0; t < T; ++t) isum[t] = ZeroI();
    for (int k = 0; k < 2; ++k) {
      const C32 raw = Load32(w + 32 + 32 * k);
      for (int s = 0; s < 4; ++s) {
        const int bit = 4 * k + s;
        // High bit to position 2: shift right by bit - 2 (or left by 2 - bit).
        const C32 high = bit >= 2 ? ShrAnd(hm, bit - 2, 4) : ShlAnd(hm, 2 - bit, 4);
        const C32 q = Or(ShrAnd(raw, 2 * s, 3), high);
        const int j = 8 * k + 2 * s;
        for (int t = 0; t < T; ++t) {
          isum[t] =
              Add(isum[t], DotUS(q, Load32(AQs(a[t]) + 128 * k + 32 * s), scale[j], scale[j + 1]));
        }
      }
    }
    const float d = H(w + 108);
    for (int t = 0; t < T; ++t) {
      int offset = 0;
      for (int j = 0; j < 16; ++j) offset += scale[j] * BSum(a[t], j);
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      extra[t] -= 4.0f * d * da[t] * static_cast<float>(offset);
    }
  }
};

#ifdef SLMKIT_QK_X86
HWY_INLINE int HSumI32(__m256i v) {
  __m128i q = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
  return _mm_cvtsi128_si32(q);
}
#endif

// Q4_K / Q5_K: d at 0, dmin at 2, scales[12] at 4; Q4_K qs[128] at 16; Q5_K qh[32] at 16, qs at
// 48. Sub-block s (32 elements): nibble (s odd: high) of qs[32 (s / 2) + l], Q5_K plus bit s of
// qh[l] as 16.
HWY_INLINE void K4ScaleMin(const uint8_t* q, int j, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}
#ifdef SLMKIT_QK_X86
// The 12 scale bytes as 8 scales (bytes 0-7) and 8 mins (8-15), by ggml's 32-bit mask shuffle
// (x86 is little-endian): the same values as K4ScaleMin in a dozen integer operations.
HWY_INLINE void K4Unpack(const uint8_t* q, uint8_t out[16]) {
  uint32_t u[4];
  std::memcpy(u, q, 12);
  constexpr uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
  u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
  const uint32_t mins_lo = u[1] & k1;
  u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
  u[2] = mins_lo;
  u[0] &= k1;
  std::memcpy(out, u, 16);
}
#endif
template <bool kFive>
struct KQ45_K {
  static HWY_INLINE float Scale(const uint8_t* a) { return F(a); }
  static constexpr int kBlock = 256, kW = kFive ? 176 : 144, kA = kAK;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    const uint8_t* qs = w + (kFive ? 48 : 16);
#ifdef SLMKIT_QK_X86
    alignas(16) uint8_t sm[16];
    K4Unpack(w + 4, sm);
    const __m256i scales16 = _mm256_broadcastsi128_si256(
        _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm))));
    // Sub-block s covers bsums 2s and 2s + 1: the min term of a token is a 16-bit multiply-add
    // of the mins with the bsum pairs (one token: pairs added horizontally; several: each min
    // twice, saving that add per token), exact in i32.
    const __m128i mins8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8));
    const __m128i mins16 = _mm_cvtepu8_epi16(mins8);
    const __m256i mins16x2 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
#else
    int scale[8], min[8];
    for (int s = 0; s < 8; ++s) K4ScaleMin(w + 4, s, scale[s], min[s]);
#endif
    C32 hb{};
    if constexpr (kFive) hb = Load32(w + 16);
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
#ifdef SLMKIT_QK_X86
        // Scale s picked out of the register by a byte shuffle, not broadcast from memory.
        const __m256i sc = _mm256_shuffle_epi8(
            scales16, _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * s)));
        for (int t = 0; t < T; ++t) {
          const __m256i p16 = _mm256_maddubs_epi16(q.v, Load32(AQs(a[t]) + 32 * s).v);
          isum[t] = Add(isum[t], {_mm256_madd_epi16(p16, sc)});
        }
#else
        const auto sc = static_cast<int16_t>(scale[s]);
        for (int t = 0; t < T; ++t)
          isum[t] = Add(isum[t], DotUS(q, Load32(AQs(a[t]) + 32 * s), sc, sc));
#endif
      }
    }
    const float d = H(w), dmin = H(w + 2);
    for (int t = 0; t < T; ++t) {
#ifdef SLMKIT_QK_X86
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t] + 260));
      int mins;
      if constexpr (T == 1) {
        const __m128i pairs =
            _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        __m128i m = _mm_madd_epi16(mins16, pairs);
        m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0x4E));
        m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0xB1));
        mins = _mm_cvtsi128_si32(m);
      } else {
        mins = HSumI32(_mm256_madd_epi16(mins16x2, bs));
      }
#else
      int mins = 0;
      for (int s = 0; s < 8; ++s) mins += min[s] * (BSum(a[t], 2 * s) + BSum(a[t], 2 * s + 1));
#endif
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      extra[t] -= dmin * da[t] * static_cast<float>(mins);
    }
  }
};

// Q6_K: ql[128] at 0, qh[64] at 128, scales[16] (i8) at 192, d at 208. Element 128k + 32s + l:
// nibble (s >= 2: high) of ql[64k + 32 (s % 2) + l] | bits 2s of qh[32k + l] << 4; minus 32,
// applied through the activation sums.
struct KQ6_K {
  static HWY_INLINE float Scale(const uint8_t* a) { return F(a); }
  static constexpr int kBlock = 256, kW = 210, kA = kAK;
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    const auto* sc = reinterpret_cast<const int8_t*>(w + 192);
#ifdef SLMKIT_QK_X86
    const __m256i scales16 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 192)));
    // Scales 0-7 (8-15) as i16 in both 128-bit lanes, for the in-lane byte shuffles below.
    const __m256i scales_lo = _mm256_permute4x64_epi64(scales16, 0x44);
    const __m256i scales_hi = _mm256_permute4x64_epi64(scales16, 0xEE);
#endif
    I32 isum[T];
    for (int t = 0; t < T; ++t) isum[t] = ZeroI();
    for (int k = 0; k < 2; ++k) {
      const C32 qh = Load32(w + 128 + 32 * k);
      const C32 l0 = Load32(w + 64 * k), l1 = Load32(w + 64 * k + 32);
      for (int s = 0; s < 4; ++s) {
        const C32 lo = ShrAnd(s % 2 ? l1 : l0, s < 2 ? 0 : 4, 0x0F);
        const int shift = 2 * s;  // bits 2s..2s+1 to bits 4..5
        const C32 hi = shift <= 4 ? ShlAnd(qh, 4 - shift, 0x30) : ShrAnd(qh, shift - 4, 0x30);
        const C32 q = Or(lo, hi);
        const int j = 8 * k + 2 * s;
#ifdef SLMKIT_QK_X86
        // Scales j (elements 0-15) and j + 1 (16-31) shuffled out of the register.
        const __m256i scv = _mm256_shuffle_epi8(
            k == 0 ? scales_lo : scales_hi,
            _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * s + 1))),
                             _mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * s)))));
        for (int t = 0; t < T; ++t) {
          const __m256i p16 = _mm256_maddubs_epi16(q.v, Load32(AQs(a[t]) + 128 * k + 32 * s).v);
          isum[t] = Add(isum[t], {_mm256_madd_epi16(p16, scv)});
        }
        (void)j;
#else
        for (int t = 0; t < T; ++t) {
          isum[t] = Add(isum[t], DotUS(q, Load32(AQs(a[t]) + 128 * k + 32 * s), sc[j], sc[j + 1]));
        }
#endif
      }
    }
    const float d = H(w + 208);
    for (int t = 0; t < T; ++t) {
      int offset = 0;
#ifdef SLMKIT_QK_X86
      // As for Q4_K's mins: one 16-bit multiply-add of the i8 scales with the bsums, exact.
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t] + 260));
      offset = HSumI32(_mm256_madd_epi16(scales16, bs));
#else
      for (int j = 0; j < 16; ++j) offset += sc[j] * BSum(a[t], j);
#endif
      acc[t] = MulAddI(isum[t], d * da[t], acc[t]);
      extra[t] -= 32.0f * d * da[t] * static_cast<float>(offset);
    }
  }
};

// ---- rows x tokens ----------------------------------------------------------------------------
// Activation scales of a tile of tokens as f32, [block][token], converted once per tile rather
// than once per row; rows longer than kMaxBlocks blocks convert them per block instead.
constexpr int64_t kMaxBlocks = 1024;

constexpr int64_t kDecodePrefetchBytes = 8 * 1024;

template <class K, int T>
HWY_INLINE void RowTokens(const uint8_t* w, const uint8_t* act, int64_t act_stride, int64_t nb,
                          const float* scales, float* y, int64_t y_stride) {
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
      const uint8_t* p = w + b * K::kW + kDecodePrefetchBytes;
      for (int i = 0; i < K::kW; i += 64) hwy::Prefetch(p + i);
    }
    for (int t = 0; t < T; ++t) a[t] = act + t * act_stride + b * K::kA;
    if (scales) {
      K::template Block<T>(w + b * K::kW, a, scales + b * T, acc, extra);
    } else {
      for (int t = 0; t < T; ++t) da[t] = K::Scale(a[t]);
      K::template Block<T>(w + b * K::kW, a, da, acc, extra);
    }
  }
  for (int t = 0; t < T; ++t) y[t * y_stride] = SumF(acc[t]) + extra[t];
}

template <class K, int T>
HWY_INLINE void TokenTile(const MatrixRef& w, const uint8_t* act, int64_t act_stride, float* y,
                          int64_t y_stride, int64_t r0, int64_t r1) {
  const int64_t nb = w.cols / K::kBlock;
  float scales[T * kMaxBlocks];
  const bool tabulate = nb <= kMaxBlocks;
  if (tabulate) {
    for (int64_t b = 0; b < nb; ++b)
      for (int t = 0; t < T; ++t) scales[b * T + t] = K::Scale(act + t * act_stride + b * K::kA);
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

#ifdef SLMKIT_QK_X86
// ---- Q4_0, 8 rows interleaved (pack_matrix) --------------------------------------------------
// Group layout, per block: 8 f16 scales (16 bytes), then chunk c = 0..3 of 32 bytes whose bytes
// 4r..4r+3 are qs[4c..4c+3] of row r: low nibbles are elements 4c..4c+3, high nibbles 16+4c..
// Lane r of the 8-bit dot with a broadcast of activations 4c..4c+3 (or 16+4c..) sums row r's
// products; unsigned nibbles make that sum(q a), and the -8 offset enters as -8 sum(a), the
// accumulator's starting value.
constexpr int64_t kPackRows = 8;
constexpr int64_t kPackBlockBytes = 16 + 4 * 32;

HWY_INLINE __m256i DotBroadcast(__m256i acc, __m256i u, const uint8_t* a4) {
  int32_t v;
  std::memcpy(&v, a4, 4);
  const __m256i b = _mm256_set1_epi32(v);
#if HWY_TARGET == HWY_AVX3_DL
  return _mm256_dpbusd_epi32(acc, u, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, b), _mm256_set1_epi16(1)));
#endif
}

// Blocks [b0, b1) of one group of 8 rows for T tokens, added to y when `accumulate`.
template <int T>
HWY_INLINE void PackedGroupQ4_0(const uint8_t* g, const uint8_t* act, int64_t act_stride,
                                int64_t b0, int64_t b1, const float* scales, const int32_t* offsets,
                                float* y, int64_t y_stride, bool accumulate) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t)
    acc[t] = accumulate ? _mm256_loadu_ps(y + t * y_stride) : _mm256_setzero_ps();
  const __m256i low = _mm256_set1_epi8(0x0F);
  for (int64_t b = b0; b < b1; ++b) {
    const uint8_t* blk = g + b * kPackBlockBytes;
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
    __m256i lo[4], hi[4];
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * c));
      lo[c] = _mm256_and_si256(raw, low);
      hi[c] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
    }
    for (int t = 0; t < T; ++t) {
      const uint8_t* q = act + t * act_stride + b * 34 + 2;
      __m256i sum = _mm256_set1_epi32(offsets[b * T + t]);
      for (int c = 0; c < 4; ++c) {
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
HWY_INLINE void PackedTileQ4_0(const MatrixRef& w, const uint8_t* act, int64_t act_stride, float* y,
                               int64_t y_stride, int64_t g0, int64_t g1) {
  const int64_t nb = w.cols / 32;
  float scales[T * kMaxBlocks];
  int32_t offsets[T * kMaxBlocks];
  for (int64_t b = 0; b < nb; ++b) {
    for (int t = 0; t < T; ++t) {
      const uint8_t* a = act + t * act_stride + b * 34;
      scales[b * T + t] = H(a);
      int s = 0;
      for (int j = 0; j < 32; ++j) s += static_cast<int8_t>(a[2 + j]);
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
      PackedGroupQ4_0<T>(base + g * nb * kPackBlockBytes, act, act_stride, b0, b1, scales, offsets,
                         y + g * kPackRows, y_stride, b0 > 0);
    }
  }
}

// Whole groups inside [r0, r1) from the packed copy, the rows around them from the GGUF rows.
void PackedMatmulQ4_0(const MatrixRef& w, const std::byte* act, int64_t act_stride,
                      int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  const int64_t g0 = (r0 + kPackRows - 1) / kPackRows, g1 = r1 / kPackRows;
  if (g0 >= g1 || w.cols / 32 > kMaxBlocks) {
    return MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
  }
  if (r0 < g0 * kPackRows)
    MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, r0, g0 * kPackRows);
  if (g1 * kPackRows < r1)
    MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, g1 * kPackRows, r1);
  const auto* a0 = reinterpret_cast<const uint8_t*>(act);
  int64_t t = 0;
  for (; t + kTileTokens <= n_tokens; t += kTileTokens) {
    PackedTileQ4_0<kTileTokens>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0,
                                g1);
  }
  for (; t + 2 <= n_tokens; t += 2)
    PackedTileQ4_0<2>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
  for (; t < n_tokens; ++t)
    PackedTileQ4_0<1>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
}
constexpr bool kHavePacked = true;
#else
void PackedMatmulQ4_0(const MatrixRef& w, const std::byte* act, int64_t act_stride,
                      int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
}
constexpr bool kHavePacked = false;
#endif

bool HasPackedKernels() {
  return kHavePacked;
}

void QuantMatmul(const MatrixRef& w, const std::byte* act, int64_t act_stride, int64_t n_tokens,
                 float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  if (w.packed && w.dtype == DType::Q4_0) {
    return PackedMatmulQ4_0(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
  }
  switch (w.dtype) {
    case DType::Q8_0:
      return MatmulK<KQ8_0>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q4_0:
      return MatmulK<KQ4_0>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q5_0:
      return MatmulK<KQ5_0>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q4_1:
      return MatmulK<KQ4_1>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q5_1:
      return MatmulK<KQ5_1>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q2_K:
      return MatmulK<KQ2_K>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q3_K:
      return MatmulK<KQ3_K>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q4_K:
      return MatmulK<KQ45_K<false>>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q5_K:
      return MatmulK<KQ45_K<true>>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    case DType::Q6_K:
      return MatmulK<KQ6_K>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
    default:
      return ref::quant_matmul(w, act, act_stride, n_tokens, y, y_stride, r0, r1);  // throws
  }
}

#else  // HWY_SCALAR: the references

bool HasPackedKernels() {
  return false;
}

void QuantMatmul(const MatrixRef& w, const std::byte* act, int64_t act_stride, int64_t n_tokens,
                 float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  ref::quant_matmul(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
}

#endif

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slmkit::kernels {

HWY_EXPORT(QuantMatmul);
HWY_EXPORT(HasPackedKernels);

size_t packed_bytes(const MatrixRef& w) {
  if (w.dtype != DType::Q4_0 || w.rows < 8 || w.cols % 32 != 0) return 0;
  if (!HWY_DYNAMIC_DISPATCH(HasPackedKernels)()) return 0;
  return static_cast<size_t>(w.rows / 8) * static_cast<size_t>(w.cols / 32) * (8 * 18);
}

void pack_matrix(const MatrixRef& w, std::byte* out) {
  const int64_t nb = w.cols / 32;
  for (int64_t g = 0; g < w.rows / 8; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      std::byte* dst = out + (g * nb + b) * (8 * 18);
      for (int64_t r = 0; r < 8; ++r) {
        const std::byte* src = w.row(8 * g + r) + b * 18;
        std::memcpy(dst + 2 * r, src, 2);
        for (int c = 0; c < 4; ++c) std::memcpy(dst + 16 + 32 * c + 4 * r, src + 2 + 4 * c, 4);
      }
    }
  }
}

float quant_dot(DType w_type, const std::byte* w, const std::byte* act, int64_t n) {
  if (use_scalar()) return ref::quant_dot(w_type, w, act, n);
  const MatrixRef m{w_type, w, 1, n, 0};
  float y = 0.0f;
  HWY_DYNAMIC_DISPATCH(QuantMatmul)(m, act, 0, 1, &y, 1, 0, 1);
  return y;
}

void quant_matmul(const MatrixRef& w, const std::byte* act, int64_t act_stride_bytes,
                  int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  if (use_scalar())
    return ref::quant_matmul(w, act, act_stride_bytes, n_tokens, y, y_stride, r0, r1);
  HWY_DYNAMIC_DISPATCH(QuantMatmul)(w, act, act_stride_bytes, n_tokens, y, y_stride, r0, r1);
}

}  // namespace slmkit::kernels
#endif  // HWY_ONCE
