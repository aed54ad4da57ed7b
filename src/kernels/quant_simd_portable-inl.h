// The quantized kernels' primitives for the targets without a 256-bit x86 implementation
// (SSE4, EMU128, NEON, ...): the names of quant_simd_x86-inl.h in portable Highway code, a chunk
// being two 128-bit halves that widen to i16 and multiply-accumulate with
// ReorderWidenMulAccumulate. HWY_SCALAR (one-lane vectors) has none: it runs the references.
//
// Per-target header (Highway's -inl.h convention): included once per target by
// quant_matmul_hwy.cpp; empty for the x86 256-bit targets and HWY_SCALAR.
#if defined(SLMKIT_KERNELS_QUANT_SIMD_PORTABLE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLMKIT_KERNELS_QUANT_SIMD_PORTABLE_INL_H_
#undef SLMKIT_KERNELS_QUANT_SIMD_PORTABLE_INL_H_
#else
#define SLMKIT_KERNELS_QUANT_SIMD_PORTABLE_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "core/half.h"
#include "hwy/highway.h"

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_AVX2 && HWY_TARGET != HWY_AVX3 && \
    HWY_TARGET != HWY_AVX3_DL

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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
// Two 16-bit scales for the halves of a chunk (elements 0-15, 16-31).
struct Scale16 {
  int16_t s0, s1;
};

HWY_INLINE float LoadHalf(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return f16_to_f32(bits);
}

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
HWY_INLINE I32 DotUS(C32 u, C32 a, Scale16 s) {
  return DotUS(u, a, s.s0, s.s1);
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

HWY_INLINE int BSum16(const uint8_t* bsums, int j) {
  int16_t v;
  std::memcpy(&v, bsums + 2 * j, 2);
  return v;
}

// Q4_K / Q5_K: 8 6-bit scales and 8 6-bit mins packed into 12 bytes (ggml's get_scale_min_k4).
class K4Scales {
 public:
  HWY_INLINE explicit K4Scales(const uint8_t* q) {
    for (int j = 0; j < 8; ++j) {
      if (j < 4) {
        scale_[j] = q[j] & 63;
        min_[j] = q[j + 4] & 63;
      } else {
        scale_[j] = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        min_[j] = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
      }
    }
  }
  HWY_INLINE Scale16 Sub(int s) const {
    const auto sc = static_cast<int16_t>(scale_[s]);
    return {sc, sc};
  }
  template <int T>
  HWY_INLINE int MinSum(const uint8_t* bsums) const {
    int mins = 0;
    for (int s = 0; s < 8; ++s) mins += min_[s] * (BSum16(bsums, 2 * s) + BSum16(bsums, 2 * s + 1));
    return mins;
  }

 private:
  int scale_[8], min_[8];
};

// Q2_K, Q3_K, Q6_K: 16 i8 scales (or mins), one per 16 elements.
class K16Scales {
 public:
  HWY_INLINE explicit K16Scales(const int8_t* scales) { std::memcpy(sc_, scales, 16); }
  static HWY_INLINE K16Scales Nibbles(const uint8_t* packed, int shift) {
    int8_t s[16];
    for (int j = 0; j < 16; ++j) s[j] = static_cast<int8_t>((packed[j] >> shift) & 0x0F);
    return K16Scales(s);
  }
  static HWY_INLINE K16Scales Words(const uint32_t* words, uint8_t minus) {
    uint8_t b[16];
    std::memcpy(b, words, 16);
    int8_t s[16];
    for (int j = 0; j < 16; ++j) s[j] = static_cast<int8_t>(b[j] - minus);
    return K16Scales(s);
  }
  HWY_INLINE Scale16 Pair(int j) const { return {sc_[j], sc_[j + 1]}; }
  HWY_INLINE int OffsetSum(const uint8_t* bsums) const {
    int offset = 0;
    for (int j = 0; j < 16; ++j) offset += sc_[j] * BSum16(bsums, j);
    return offset;
  }
  HWY_INLINE I32 OffsetProducts(const uint8_t* bsums) const {
    const DI32 d;
    return hn::InsertLane(hn::Zero(d), 0, OffsetSum(bsums));
  }

 private:
  int8_t sc_[16];
};

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#endif  // portable targets
#endif  // per-target include guard
