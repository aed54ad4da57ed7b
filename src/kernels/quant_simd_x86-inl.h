// The quantized kernels' primitives on 256-bit x86 (the AVX2 and AVX-512 Highway targets): a
// 32-byte chunk of 8-bit values (C32), partial i32 sums (I32), f32 accumulators (F32), and the
// sub-block scale sets of the K-quants. u8 x s8 products are summed in pairs to i16 (maddubs),
// then to i32 (madd), as ggml's AVX2 kernels do; vpdpbusd where VNNI is there. maddubs saturates
// at i16: every use keeps |u| |a| + |u'| |a'| below 2^15 (unsigned weights <= 63 with activations
// >= -128, or signed weights as |w| <= 128 times activations of Q8_0, which are within +-127).
// quant_simd_portable-inl.h implements the same names for every other target.
//
// Per-target header (Highway's -inl.h convention): included once per target by
// quant_matmul_hwy.cpp; empty for targets other than AVX2 / AVX3 / AVX3_DL.
#if defined(SLMKIT_KERNELS_QUANT_SIMD_X86_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLMKIT_KERNELS_QUANT_SIMD_X86_INL_H_
#undef SLMKIT_KERNELS_QUANT_SIMD_X86_INL_H_
#else
#define SLMKIT_KERNELS_QUANT_SIMD_X86_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hwy/highway.h"

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3_DL
// acc + sum of 4 products u8 x s8 per i32 lane, EVEX-encoded (AVX512_VNNI). Highway 1.0's AVX3_DL
// target enables the compiler's "avxvnni", which makes the intrinsic emit the VEX form: AVX-VNNI,
// which Zen 4 and Ice Lake lack although Highway picks AVX3_DL there (their AVX512_VNNI decides
// it). Written out, the instruction is the one every AVX3_DL CPU has.
HWY_INLINE __m256i DpbusdEvex(__m256i acc, __m256i u, __m256i s) {
  asm("%{evex%} vpdpbusd %[s], %[u], %[acc]" : [acc] "+v"(acc) : [u] "v"(u), [s] "v"(s));
  return acc;
}
HWY_INLINE __m512i DpbusdEvex(__m512i acc, __m512i u, __m512i s) {
  asm("vpdpbusd %[s], %[u], %[acc]" : [acc] "+v"(acc) : [u] "v"(u), [s] "v"(s));
  return acc;
}
#endif

struct C32 {
  __m256i v;
};
struct I32 {
  __m256i v;  // 8 partial sums
};
struct F32 {
  __m256 v;
};
// Two 16-bit scales for the halves of a chunk (elements 0-15, 16-31), in i16 lanes.
struct Scale16 {
  __m256i v;
};

// F16C, which every AVX2 target has; exact like f16_to_f32.
HWY_INLINE float LoadHalf(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return _cvtsh_ss(bits);
}

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
// sum u[j] a[j] with u unsigned, each half scaled by its scale in s.
HWY_INLINE I32 DotUS(C32 u, C32 a, Scale16 s) {
  return {_mm256_madd_epi16(_mm256_maddubs_epi16(u.v, a.v), s.v)};
}
HWY_INLINE I32 DotUS(C32 u, C32 a, int16_t s0, int16_t s1) {
  return DotUS(u, a, Scale16{_mm256_set_m128i(_mm_set1_epi16(s1), _mm_set1_epi16(s0))});
}
HWY_INLINE I32 DotUS(C32 u, C32 a) {
#if HWY_TARGET == HWY_AVX3_DL
  return {DpbusdEvex(_mm256_setzero_si256(), u.v, a.v)};  // no i16 saturation
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
HWY_INLINE int SumI32(__m256i v) {
  __m128i q = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
  return _mm_cvtsi128_si32(q);
}

// Q4_K / Q5_K: the 12 packed bytes of 8 6-bit scales and 8 6-bit mins, unpacked by ggml's 32-bit
// mask shuffle (x86 is little-endian) into i16 registers the chunk dots use directly.
class K4Scales {
 public:
  HWY_INLINE explicit K4Scales(const uint8_t* packed) {
    uint32_t u[4];
    std::memcpy(u, packed, 12);
    constexpr uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
    const uint32_t mins_lo = u[1] & k1;
    u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
    u[2] = mins_lo;
    u[0] &= k1;
    alignas(16) uint8_t sm[16];  // scales 0-7, mins 0-7
    std::memcpy(sm, u, 16);
    scales16_ = _mm256_broadcastsi128_si256(
        _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm))));
    const __m128i mins8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8));
    mins16_ = _mm_cvtepu8_epi16(mins8);
    mins16x2_ = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
  }
  // Sub-block s's scale on both halves, shuffled out of the register rather than broadcast
  // from memory.
  HWY_INLINE Scale16 Sub(int s) const {
    return {_mm256_shuffle_epi8(scales16_,
                                _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * s)))};
  }
  // sum over sub-blocks s of min[s] (bsums[2s] + bsums[2s + 1]) for one token's 16 i16 bsums:
  // one 16-bit multiply-add, exact in i32 (one token: pairs added horizontally first; a tile:
  // each min twice, saving that add per token).
  template <int T>
  HWY_INLINE int MinSum(const uint8_t* bsums) const {
    const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums));
    if constexpr (T == 1) {
      const __m128i pairs =
          _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
      __m128i m = _mm_madd_epi16(mins16_, pairs);
      m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0x4E));
      m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0xB1));
      return _mm_cvtsi128_si32(m);
    } else {
      return SumI32(_mm256_madd_epi16(mins16x2_, bs));
    }
  }

 private:
  __m256i scales16_;
  __m128i mins16_;
  __m256i mins16x2_;
};

// Q2_K, Q3_K, Q6_K: 16 i8 scales (or mins), one per 16 elements, widened once; scales 0-7 (8-15)
// in both 128-bit lanes for the in-lane byte shuffles that pick a pair.
class K16Scales {
 public:
  HWY_INLINE explicit K16Scales(const int8_t* scales)
      : K16Scales(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales))) {}
  // (packed[j] >> shift) & 15 for 16 bytes (Q2_K: shift 0 the scales, 4 the mins).
  static HWY_INLINE K16Scales Nibbles(const uint8_t* packed, int shift) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
    return K16Scales(
        _mm_and_si128(_mm_srl_epi16(x, _mm_cvtsi32_si128(shift)), _mm_set1_epi8(0x0F)));
  }
  // The 16 bytes of four words (in memory order) minus `minus` each: built in registers, not
  // stored and reloaded (a 16-byte load of four 4-byte stores stalls store forwarding).
  static HWY_INLINE K16Scales Words(const uint32_t* words, uint8_t minus) {
    const __m128i x = _mm_set_epi32(static_cast<int>(words[3]), static_cast<int>(words[2]),
                                    static_cast<int>(words[1]), static_cast<int>(words[0]));
    return K16Scales(_mm_sub_epi8(x, _mm_set1_epi8(static_cast<char>(minus))));
  }
  // Scales j (elements 0-15) and j + 1 (16-31), j even.
  HWY_INLINE Scale16 Pair(int j) const {
    const int s = (j % 8) / 2;
    return {_mm256_shuffle_epi8(
        j < 8 ? lo_ : hi_,
        _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * s + 1))),
                         _mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * s)))))};
  }
  // sum_j scale[j] bsums[j], one 16-bit multiply-add, exact in i32.
  HWY_INLINE int OffsetSum(const uint8_t* bsums) const { return SumI32(OffsetProducts(bsums).v); }
  // The same products in 8 partial i32 sums, for a float accumulator's lanes (no horizontal sum
  // per block).
  HWY_INLINE I32 OffsetProducts(const uint8_t* bsums) const {
    const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums));
    return {_mm256_madd_epi16(scales16_, bs)};
  }

 private:
  HWY_INLINE explicit K16Scales(__m128i scales8) {
    scales16_ = _mm256_cvtepi8_epi16(scales8);
    lo_ = _mm256_permute4x64_epi64(scales16_, 0x44);
    hi_ = _mm256_permute4x64_epi64(scales16_, 0xEE);
  }
  __m256i scales16_, lo_, hi_;
};

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#endif  // 256-bit x86 targets
#endif  // per-target include guard
