// Block kernels of the legacy types (32-element blocks), on the primitives of
// quant_simd_*-inl.h. Each K has:
//   kType, Weight, Activation            the weight type and the block structs (quant/blocks.h)
//   Scale(a)                             the activation block's scale as f32
//   Block<T>(w, a[T], da[T], acc, extra) adds weight block w times activation block a[t] (scale
//                                        da[t]) to acc[t] (float lanes) and extra[t] (scalar
//                                        terms: minimums, offsets)
//
// Per-target header (Highway's -inl.h convention), included by quant_matmul_hwy.cpp.
#if defined(SLMKIT_KERNELS_QUANT_BLOCKS_LEGACY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLMKIT_KERNELS_QUANT_BLOCKS_LEGACY_INL_H_
#undef SLMKIT_KERNELS_QUANT_BLOCKS_LEGACY_INL_H_
#else
#define SLMKIT_KERNELS_QUANT_BLOCKS_LEGACY_INL_H_
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

// Signed weights against Q8_0: d_w d_a sum(q a).
template <DType kT, class W, class Q>
struct KLegacySigned {
  static constexpr DType kType = kT;
  using Weight = W;
  using Activation = quant::block_q8_0;
  static HWY_INLINE float Scale(const uint8_t* a) { return LoadHalf(a + offsetof(Activation, d)); }
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float*) {
    const C32 q = Q::Values(w);
    const float d = LoadHalf(w + offsetof(W, d));
    for (int t = 0; t < T; ++t) {
      acc[t] = MulAddI(DotSS(q, Load32(a[t] + offsetof(Activation, qs))), d * da[t], acc[t]);
    }
  }
};

// Unsigned weights with a minimum against Q8_1: d_w d_a sum(q a) + m_w s_a.
template <DType kT, class W, class Q>
struct KLegacyMin {
  static constexpr DType kType = kT;
  using Weight = W;
  using Activation = quant::block_q8_1;
  static HWY_INLINE float Scale(const uint8_t* a) { return LoadHalf(a + offsetof(Activation, d)); }
  template <int T>
  static HWY_INLINE void Block(const uint8_t* w, const uint8_t* const* a, const float* da, F32* acc,
                               float* extra) {
    const C32 q = Q::Values(w);
    const float d = LoadHalf(w + offsetof(W, d)), m = LoadHalf(w + offsetof(W, m));
    for (int t = 0; t < T; ++t) {
      acc[t] = MulAddI(DotUS(q, Load32(a[t] + offsetof(Activation, qs))), d * da[t], acc[t]);
      extra[t] += m * LoadHalf(a[t] + offsetof(Activation, s));
    }
  }
};

// The 32 values of a block as bytes.
struct Q8_0Values {
  static HWY_INLINE C32 Values(const uint8_t* w) {
    return Load32(w + offsetof(quant::block_q8_0, qs));
  }
};
struct Q4_0Values {  // nibbles minus 8
  static HWY_INLINE C32 Values(const uint8_t* w) {
    return SubBytes(NibblesOf16(w + offsetof(quant::block_q4_0, qs)), 8);
  }
};
template <class B>
HWY_INLINE C32 FiveBitValues(const uint8_t* w) {  // nibble | fifth bit << 4
  uint32_t qh;
  std::memcpy(&qh, w + offsetof(B, qh), 4);
  return Or(NibblesOf16(w + offsetof(B, qs)), FifthBits(qh));
}
struct Q5_0Values {  // minus 16
  static HWY_INLINE C32 Values(const uint8_t* w) {
    return SubBytes(FiveBitValues<quant::block_q5_0>(w), 16);
  }
};
struct Q4_1Values {
  static HWY_INLINE C32 Values(const uint8_t* w) {
    return NibblesOf16(w + offsetof(quant::block_q4_1, qs));
  }
};
struct Q5_1Values {
  static HWY_INLINE C32 Values(const uint8_t* w) { return FiveBitValues<quant::block_q5_1>(w); }
};

using KQ8_0 = KLegacySigned<DType::Q8_0, quant::block_q8_0, Q8_0Values>;
using KQ4_0 = KLegacySigned<DType::Q4_0, quant::block_q4_0, Q4_0Values>;
using KQ5_0 = KLegacySigned<DType::Q5_0, quant::block_q5_0, Q5_0Values>;
using KQ4_1 = KLegacyMin<DType::Q4_1, quant::block_q4_1, Q4_1Values>;
using KQ5_1 = KLegacyMin<DType::Q5_1, quant::block_q5_1, Q5_1Values>;

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#endif  // HWY_TARGET != HWY_SCALAR
#endif  // per-target include guard
