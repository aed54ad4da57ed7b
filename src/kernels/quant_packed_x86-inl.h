// Kernels over repacked weight layouts (kernels/packed_layouts.h), and the list of them that
// QuantMatmul dispatches on: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K x 8 rows on the
// 256-bit x86 targets (AVX3_DL reads two groups at once in 512-bit vectors when a tile has 4 tokens
// or more). Lane r of the 8-bit dot of a weight operand with a broadcast of 4 activations sums row
// r's products; weights are unsigned (nibbles, 5- and 6-bit values, Q8_0 + 128 with VNNI), and
// their offset enters through the activation sums. Other targets have no packed kernels (an empty
// list).
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
#include <type_traits>

#include "hwy/highway.h"
#include "kernels/packed_layouts.h"
#include "quant/blocks.h"

#if HWY_TARGET != HWY_SCALAR

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

// One group of 8 rows in 256-bit vectors, or (AVX3_DL) two adjacent groups in 512-bit vectors,
// the second group's bytes in the upper half: the layouts are the same, only the kernel reads
// 16 rows at once.
struct Rows8 {
  static constexpr int kGroups = 1;
  static constexpr int64_t kRows = 8;
  using I = __m256i;
  using F = __m256;
  static HWY_INLINE I Load(const uint8_t* p, int64_t) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  // The f16 scales of the group's 8 rows.
  static HWY_INLINE F Scales(const uint8_t* p, int64_t) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static HWY_INLINE I Broadcast(const uint8_t* a4) {
    int32_t v;
    std::memcpy(&v, a4, 4);
    return _mm256_set1_epi32(v);
  }
  static HWY_INLINE I Set1(int32_t v) { return _mm256_set1_epi32(v); }
  static HWY_INLINE I Set1Bytes(uint8_t v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  static HWY_INLINE I And(I a, I b) { return _mm256_and_si256(a, b); }
  static HWY_INLINE I Xor(I a, I b) { return _mm256_xor_si256(a, b); }
  static HWY_INLINE I Shr4(I a) { return _mm256_srli_epi16(a, 4); }
  // acc + sum of 4 products u8 x s8 per i32 lane.
  static HWY_INLINE I DotUS(I acc, I u, I b) {
#if HWY_TARGET == HWY_AVX3_DL
    return DpbusdEvex(acc, u, b);
#else
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, b), _mm256_set1_epi16(1)));
#endif
  }
  // acc + sum of 4 products s8 x s8 per lane, as |w| times b with w's sign (ggml's trick).
  static HWY_INLINE I DotSS(I acc, I w, I b) {
    return DotUS(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(b, w));
  }
  // Per-row bytes widened: 8 rows' u8 to i32 lanes; 8 rows' pairs of u8 to i16 pairs.
  static HWY_INLINE I LoadU8To32(const uint8_t* p, int64_t) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static HWY_INLINE I LoadU8To16(const uint8_t* p, int64_t) {
    return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static HWY_INLINE I LoadI8To16(const uint8_t* p, int64_t) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  // Each i32 lane's low (high) i16, sign-extended.
  static HWY_INLINE I LowI16(I v) {
    return _mm256_srai_epi32(_mm256_slli_epi32(v, 16), 16);
  }
  static HWY_INLINE I HighI16(I v) {
    return _mm256_srai_epi32(v, 16);
  }
  static HWY_INLINE I Or(I a, I b) {
    return _mm256_or_si256(a, b);
  }
  static HWY_INLINE I Shl(I a, int n) {
    return _mm256_slli_epi16(a, n);
  }  // then masked per byte
  static HWY_INLINE I Shr(I a, int n) {
    return _mm256_srli_epi16(a, n);
  }
  static HWY_INLINE I Shl32(I a, int n) {
    return _mm256_slli_epi32(a, n);
  }
  static HWY_INLINE I Sub(I a, I b) {
    return _mm256_sub_epi32(a, b);
  }
  static HWY_INLINE I ZeroI() {
    return _mm256_setzero_si256();
  }
  static HWY_INLINE I Add(I a, I b) {
    return _mm256_add_epi32(a, b);
  }
  static HWY_INLINE I MulLo(I a, I b) {
    return _mm256_mullo_epi32(a, b);
  }
  static HWY_INLINE I Madd16(I a, I b) {
    return _mm256_madd_epi16(a, b);
  }
  static HWY_INLINE I Maddubs(I u, I s) {
    return _mm256_maddubs_epi16(u, s);
  }
  // An i32 lane's value (within i16) in both of its i16 halves.
  static HWY_INLINE I Pair16(I v) {
    return _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi32(0xFFFF)),
                           _mm256_slli_epi32(v, 16));
  }
  static HWY_INLINE F Zero() {
    return _mm256_setzero_ps();
  }
  static HWY_INLINE F LoadF(const float* p) {
    return _mm256_loadu_ps(p);
  }
  static HWY_INLINE void StoreF(float* p, F v) {
    _mm256_storeu_ps(p, v);
  }
  static HWY_INLINE F MulAdd(I sum, F d, float s, F acc) {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(d, _mm256_set1_ps(s)), acc);
  }
  static HWY_INLINE F MulSub(I sum, F d, float s, F acc) {
    return _mm256_fnmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(d, _mm256_set1_ps(s)), acc);
  }
  static HWY_INLINE F MulAddF(F a, float s, F acc) {
    return _mm256_fmadd_ps(a, _mm256_set1_ps(s), acc);
  }
};

#if HWY_TARGET == HWY_AVX3_DL
struct Rows16 {
  static constexpr int kGroups = 2;
  using I = __m512i;
  using F = __m512;
  static HWY_INLINE I Load(const uint8_t* p, int64_t group_bytes) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + group_bytes));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  static HWY_INLINE F Scales(const uint8_t* p, int64_t group_bytes) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + group_bytes));
    return _mm512_cvtph_ps(_mm256_set_m128i(hi, lo));
  }
  static HWY_INLINE I Broadcast(const uint8_t* a4) {
    int32_t v;
    std::memcpy(&v, a4, 4);
    return _mm512_set1_epi32(v);
  }
  static HWY_INLINE I Set1(int32_t v) { return _mm512_set1_epi32(v); }
  static HWY_INLINE I Set1Bytes(uint8_t v) { return _mm512_set1_epi8(static_cast<char>(v)); }
  static HWY_INLINE I And(I a, I b) { return _mm512_and_si512(a, b); }
  static HWY_INLINE I Xor(I a, I b) { return _mm512_xor_si512(a, b); }
  static HWY_INLINE I Shr4(I a) { return _mm512_srli_epi16(a, 4); }
  static HWY_INLINE I DotUS(I acc, I u, I b) { return DpbusdEvex(acc, u, b); }
  static HWY_INLINE I LoadU8To32(const uint8_t* p, int64_t group_bytes) {
    const __m128i lo = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i hi = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + group_bytes));
    return _mm512_cvtepu8_epi32(_mm_unpacklo_epi64(lo, hi));
  }
  static HWY_INLINE I LoadU8To16(const uint8_t* p, int64_t group_bytes) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + group_bytes));
    return _mm512_cvtepu8_epi16(_mm256_set_m128i(hi, lo));
  }
  static HWY_INLINE I LoadI8To16(const uint8_t* p, int64_t group_bytes) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + group_bytes));
    return _mm512_cvtepi8_epi16(_mm256_set_m128i(hi, lo));
  }
  static HWY_INLINE I LowI16(I v) { return _mm512_srai_epi32(_mm512_slli_epi32(v, 16), 16); }
  static HWY_INLINE I HighI16(I v) { return _mm512_srai_epi32(v, 16); }
  static HWY_INLINE I Or(I a, I b) { return _mm512_or_si512(a, b); }
  static HWY_INLINE I Shl(I a, int n) { return _mm512_slli_epi16(a, static_cast<unsigned>(n)); }
  static HWY_INLINE I Shr(I a, int n) { return _mm512_srli_epi16(a, static_cast<unsigned>(n)); }
  static HWY_INLINE I Shl32(I a, int n) { return _mm512_slli_epi32(a, static_cast<unsigned>(n)); }
  static HWY_INLINE I Sub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static HWY_INLINE I ZeroI() { return _mm512_setzero_si512(); }
  static HWY_INLINE I Add(I a, I b) { return _mm512_add_epi32(a, b); }
  static HWY_INLINE I MulLo(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static HWY_INLINE I Madd16(I a, I b) { return _mm512_madd_epi16(a, b); }
  static HWY_INLINE F Zero() { return _mm512_setzero_ps(); }
  static HWY_INLINE F LoadF(const float* p) { return _mm512_loadu_ps(p); }
  static HWY_INLINE void StoreF(float* p, F v) { _mm512_storeu_ps(p, v); }
  static HWY_INLINE F MulAdd(I sum, F d, float s, F acc) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(d, _mm512_set1_ps(s)), acc);
  }
  static HWY_INLINE F MulSub(I sum, F d, float s, F acc) {
    return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(d, _mm512_set1_ps(s)), acc);
  }
  static HWY_INLINE F MulAddF(F a, float s, F acc) {
    return _mm512_fmadd_ps(a, _mm512_set1_ps(s), acc);
  }
};
#endif

// With VNNI, 8-bit dot products take u8 x s8 without saturating: signed weights are shifted to
// unsigned (w + 128) and -128 sum(a) starts the sum. Without it (maddubs saturates at i16), they
// keep their sign and multiply through ggml's sign trick.
constexpr bool kUnsignedQ8 = HWY_TARGET == HWY_AVX3_DL;

// Per layout: the block's 8 weight operands u[i] (u[i] pairs with activation bytes 4i..4i+3 of
// every row), and the multiple of sum(a) that starts each block's sum. Q4_1 and Q5_1 (unsigned
// values with a minimum, against Q8_1 activations) share Q4_0's and Q5_0's operands; their
// minimums times the activations' sums enter as floats (PackedX8).
template <DType kT, class B, class K, int32_t kOff>
struct LayoutQ4 {
  static constexpr DType kType = kT;
  using Layout = packed_x8<B>;
  using Block = K;  // the rows outside whole groups
  static constexpr int32_t kOffset = kOff;
  template <class V>
  static HWY_INLINE void Operands(const uint8_t* chunks, int64_t group_bytes, typename V::I* u) {
    const auto low = V::Set1Bytes(0x0F);
    for (int c = 0; c < 4; ++c) {
      const auto raw = V::Load(chunks + Layout::kChunkBytes * c, group_bytes);
      u[c] = V::And(raw, low);               // elements 4c..4c+3
      u[4 + c] = V::And(V::Shr4(raw), low);  // elements 16+4c..
    }
  }
  template <class V>
  static HWY_INLINE typename V::I Dot(typename V::I acc, const typename V::I* u, int i,
                                      typename V::I b) {
    return V::DotUS(acc, u[i], b);
  }
};
using LayoutQ4_0 = LayoutQ4<DType::Q4_0, quant::block_q4_0, KQ4_0, -8>;
using LayoutQ4_1 = LayoutQ4<DType::Q4_1, quant::block_q4_1, KQ4_1, 0>;

// Q5_x's layout is q4_x8's with a chunk of fifth bits first (q5x8); the values are unsigned
// (q in 0..31), and for Q5_0 -16 sum(a) starts the sum.
template <DType kT, class B, class K, int32_t kOff>
struct LayoutQ5 {
  static constexpr DType kType = kT;
  using Layout = q5x8<B>;
  using Block = K;
  static constexpr int32_t kOffset = kOff;
  template <class V>
  static HWY_INLINE void Operands(const uint8_t* p, int64_t group_bytes, typename V::I* u) {
    const auto low = V::Set1Bytes(0x0F), five = V::Set1Bytes(0x10);
    // Bit 2c (2c + 1) of a lane's byte to bit 4: 16-bit shifts, masked per byte (no bit crosses
    // into bit 4 of the neighbouring byte for shifts of 4 left to 3 right).
    const auto h = V::Load(p, group_bytes);
    const typename V::I bits[8] = {V::Shl(h, 4), V::Shl(h, 2), h,
                                   V::Shr(h, 2), V::Shl(h, 3), V::Shl(h, 1),
                                   V::Shr(h, 1), V::Shr(h, 3)};
    for (int c = 0; c < 4; ++c) {
      const auto raw = V::Load(p + Layout::kChunkBytes * (1 + c), group_bytes);
      u[c] = V::Or(V::And(raw, low), V::And(bits[c], five));
      u[4 + c] = V::Or(V::And(V::Shr4(raw), low), V::And(bits[4 + c], five));
    }
  }
  template <class V>
  static HWY_INLINE typename V::I Dot(typename V::I acc, const typename V::I* u, int i,
                                      typename V::I b) {
    return V::DotUS(acc, u[i], b);
  }
};
using LayoutQ5_0 = LayoutQ5<DType::Q5_0, quant::block_q5_0, KQ5_0, -16>;
using LayoutQ5_1 = LayoutQ5<DType::Q5_1, quant::block_q5_1, KQ5_1, 0>;

struct LayoutQ8_0 {
  static constexpr DType kType = DType::Q8_0;
  using Layout = packed_x8<quant::block_q8_0>;
  using Block = KQ8_0;
  static constexpr int32_t kOffset = kUnsignedQ8 ? -128 : 0;
  template <class V>
  static HWY_INLINE void Operands(const uint8_t* chunks, int64_t group_bytes, typename V::I* u) {
    for (int c = 0; c < 8; ++c) {
      u[c] = V::Load(chunks + Layout::kChunkBytes * c, group_bytes);
      if constexpr (kUnsignedQ8) u[c] = V::Xor(u[c], V::Set1Bytes(0x80));
    }
  }
  template <class V>
  static HWY_INLINE typename V::I Dot(typename V::I acc, const typename V::I* u, int i,
                                      typename V::I b) {
    if constexpr (kUnsignedQ8) {
      return V::DotUS(acc, u[i], b);
    } else {
      return V::DotSS(acc, u[i], b);
    }
  }
};

// Decode (one token) streams the packed weights once: fetch ahead like the block kernels do
// (quant_tiles-inl.h RowTokens).
template <int T, int64_t kBytes>
HWY_INLINE void PrefetchAhead(const uint8_t* blk) {
  if constexpr (T == 1) {
    for (int64_t i = 0; i < kBytes; i += 64) hwy::Prefetch(blk + kDecodePrefetchBytes + i);
  }
}

// Column spans [b0, b1) of `span` blocks, and within each, the groups [g0, g1) of kernel P for T
// tokens: two at a time in 512-bit vectors on AVX3_DL when several tokens share the weights
// (distilgpt2 Q4_0 pp128, 1 thread: 1.5x; a decode step streams them faster 8 rows at a time: 16
// made it 0.71-0.76x), else one. `scales` and `table` are P's per-token tables of the tile (P::Tile
// fills them): the activation scales, and the integer terms its Groups adds.
template <class P, int T>
HWY_INLINE void SpanGroups(const MatrixRef& w, const uint8_t* act, int64_t act_stride, int64_t span,
                           float* y, int64_t y_stride, int64_t g0, int64_t g1, const float* scales,
                           const int32_t* table) {
  const int64_t nb = w.cols / P::kElements;
  const int64_t group_bytes = nb * P::kBlockBytes;
  const auto* base = reinterpret_cast<const uint8_t*>(w.packed);
  for (int64_t b0 = 0; b0 < nb; b0 += span) {
    const int64_t b1 = std::min(nb, b0 + span);
    int64_t g = g0;
#if HWY_TARGET == HWY_AVX3_DL
    if constexpr (T >= 4) {
      for (; g + 2 <= g1; g += 2) {
        P::template Groups<Rows16, T>(base + g * group_bytes, group_bytes, act, act_stride, b0, b1,
                                      scales, table, y + g * P::kRows, y_stride, b0 > 0);
      }
    }
#endif
    for (; g < g1; ++g) {
      P::template Groups<Rows8, T>(base + g * group_bytes, group_bytes, act, act_stride, b0, b1,
                                   scales, table, y + g * P::kRows, y_stride, b0 > 0);
    }
  }
}

// Row r's scale times the dot of its 4 N values u (N operands) with the activations at a: one i32
// multiply with VNNI; otherwise the scale is the 16-bit factor of maddubs' pair sums (weights of
// at most 6 bits times activations stay within i16).
template <int N, class V>
HWY_INLINE typename V::I ScaledDot(const typename V::I* u, const uint8_t* a, typename V::I scale) {
  auto s = V::ZeroI();
#if HWY_TARGET == HWY_AVX3_DL
  for (int c = 0; c < N; ++c) s = V::DotUS(s, u[c], V::Broadcast(a + 4 * c));
  return V::MulLo(s, scale);
#else
  const auto scale16 = V::Pair16(scale);
  for (int c = 0; c < N; ++c) {
    s = V::Add(s, V::Madd16(V::Maddubs(u[c], V::Broadcast(a + 4 * c)), scale16));
  }
  return s;
#endif
}

// A packed kernel P over rows [r0, r1): whole groups from the packed copy (P::Tile), the rows
// around them, and matrices too wide for P's tables, from the GGUF rows (P::Block's kernel).
template <class P>
HWY_INLINE void PackedMatmul(const MatrixRef& w, const std::byte* act, int64_t act_stride,
                             int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  using K = typename P::Block;
  constexpr int64_t kRows = P::kRows;
  const int64_t g0 = (r0 + kRows - 1) / kRows, g1 = r1 / kRows;
  if (g0 >= g1 || w.cols / P::kElements > P::kMaxColumnBlocks) {
    return MatmulK<K>(w, act, act_stride, n_tokens, y, y_stride, r0, r1);
  }
  if (r0 < g0 * kRows) MatmulK<K>(w, act, act_stride, n_tokens, y, y_stride, r0, g0 * kRows);
  if (g1 * kRows < r1) MatmulK<K>(w, act, act_stride, n_tokens, y, y_stride, g1 * kRows, r1);
  const auto* a0 = reinterpret_cast<const uint8_t*>(act);
  int64_t t = 0;
  for (; t + kTileTokens <= n_tokens; t += kTileTokens) {
    P::template Tile<kTileTokens>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride,
                                  g0, g1);
  }
  if constexpr (kTileTokens > 4) {
    for (; t + 4 <= n_tokens; t += 4)
      P::template Tile<4>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
  }
  for (; t + 2 <= n_tokens; t += 2)
    P::template Tile<2>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
  for (; t < n_tokens; ++t)
    P::template Tile<1>(w, a0 + t * act_stride, act_stride, y + t * y_stride, y_stride, g0, g1);
}

// Q4_x / Q5_x / Q8_0 rows interleaved 8 at a time (packed_layouts.h): lane r of the 8-bit dot of
// a weight operand with a broadcast of 4 activations sums row r's products, and a block's float
// work is done once for 8 (or 16) rows: d_w d_a sum(q a), plus for Q4_1 / Q5_1 m_w s_a with the
// Q8_1 activation's s = d_a sum(a).
template <class L>
struct PackedX8 {
  static constexpr DType kType = L::kType;
  using Layout = typename L::Layout;
  using Activation = typename L::Block::Activation;
  static constexpr bool kMin = std::is_same_v<Activation, quant::block_q8_1>;
  static constexpr int64_t kRows = Layout::kRows;
  static constexpr int64_t kBlockBytes = Layout::kBlockBytes;
  static constexpr int kA = static_cast<int>(sizeof(Activation));
  static constexpr int kQs = static_cast<int>(offsetof(Activation, qs));
  static constexpr int kFloats = kMin ? 2 : 1;  // per token and block: d_a (and s_a)

  // Blocks [b0, b1) of V::kGroups groups of 8 rows for T tokens, added to y when `accumulate`.
  template <class V, int T>
  static HWY_INLINE void Groups(const uint8_t* g, int64_t group_bytes, const uint8_t* act,
                                int64_t act_stride, int64_t b0, int64_t b1, const float* scales,
                                const int32_t* offsets, float* y, int64_t y_stride,
                                bool accumulate) {
    typename V::F acc[T];
    for (int t = 0; t < T; ++t) acc[t] = accumulate ? V::LoadF(y + t * y_stride) : V::Zero();
    for (int64_t b = b0; b < b1; ++b) {
      const uint8_t* blk = g + b * kBlockBytes;
      PrefetchAhead<T, kBlockBytes>(blk);
      const auto d = V::Scales(blk, group_bytes);
      typename V::I u[8];
      L::template Operands<V>(blk + Layout::kScaleBytes, group_bytes, u);
      for (int t = 0; t < T; ++t) {
        const uint8_t* q = act + t * act_stride + b * kA + kQs;
        auto sum = V::Set1(offsets[b * T + t]);
        for (int i = 0; i < 8; ++i) sum = L::template Dot<V>(sum, u, i, V::Broadcast(q + 4 * i));
        acc[t] = V::MulAdd(sum, d, scales[(b * T + t) * kFloats], acc[t]);
      }
      if constexpr (kMin) {
        const auto m = V::Scales(blk + 2 * kRows, group_bytes);
        for (int t = 0; t < T; ++t) acc[t] = V::MulAddF(m, scales[(b * T + t) * 2 + 1], acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) V::StoreF(y + t * y_stride, acc[t]);
  }

  template <int T>
  static HWY_INLINE void Tile(const MatrixRef& w, const uint8_t* act, int64_t act_stride, float* y,
                              int64_t y_stride, int64_t g0, int64_t g1) {
    const int64_t nb = w.cols / Activation::kElements;
    float scales[T * kMaxBlocks * kFloats];
    int32_t offsets[T * kMaxBlocks];
    for (int64_t b = 0; b < nb; ++b) {
      for (int t = 0; t < T; ++t) {
        const uint8_t* a = act + t * act_stride + b * kA;
        scales[(b * T + t) * kFloats] = LoadHalf(a + offsetof(Activation, d));
        if constexpr (kMin) {
          scales[(b * T + t) * 2 + 1] = LoadHalf(a + offsetof(quant::block_q8_1, s));
        }
        int s = 0;
        if constexpr (L::kOffset != 0) {
          for (int j = 0; j < Activation::kElements; ++j) s += static_cast<int8_t>(a[kQs + j]);
        }
        offsets[b * T + t] = L::kOffset * s;
      }
    }
    // Columns in spans of 64 blocks: T tokens' activations for a span (T x 2 KiB) stay in L1
    // while every group of rows streams past them. One or two tokens fit whole.
    SpanGroups<PackedX8, T>(w, act, act_stride, T <= 2 ? nb : 64, y, y_stride, g0, g1, scales,
                            offsets);
  }

  using Block = typename L::Block;
  static constexpr int64_t kElements = Activation::kElements;
  static constexpr int64_t kMaxColumnBlocks = kMaxBlocks;
};

// Q4_K and Q5_K rows interleaved 8 at a time (packed_layouts.h q4_kx8, q5_kx8) against Q8_K
// activations: per sub-block of 32, the rows' 8-bit dots times their 6-bit scales (VNNI: one i32
// multiply per sub-block; otherwise the scale is the 16-bit factor of maddubs' pair sums), and per
// super-block the mins times the activation sums in one 16-bit multiply-add per pair of
// sub-blocks. Q5_K merges its fifth bits into the nibbles once per tile.
template <bool kFive>
struct PackedQ45_Kx8 {
  static constexpr DType kType = kFive ? DType::Q5_K : DType::Q4_K;
  using Activation = quant::block_q8_k;
  using Block = std::conditional_t<kFive, KQ5_K, KQ4_K>;
  static constexpr int64_t kRows = q4_kx8::kRows;
  static constexpr int64_t kBlockBytes = kFive ? q5_kx8::kBlockBytes : q4_kx8::kBlockBytes;
  static constexpr int64_t kElements = Activation::kElements;
  static constexpr int64_t kMaxColumnBlocks = 64;  // 16384 columns: the tables below on the stack
  static constexpr int kA = static_cast<int>(sizeof(Activation));
  static constexpr int kQs = static_cast<int>(offsetof(Activation, qs));

  template <class V, int T>
  static HWY_INLINE void Groups(const uint8_t* g, int64_t group_bytes, const uint8_t* act,
                                int64_t act_stride, int64_t b0, int64_t b1, const float* da,
                                const int32_t* sums, float* y, int64_t y_stride, bool accumulate) {
    namespace L = q4_kx8;
    typename V::F acc[T];
    for (int t = 0; t < T; ++t) acc[t] = accumulate ? V::LoadF(y + t * y_stride) : V::Zero();
    const auto low = V::Set1Bytes(0x0F);
    for (int64_t b = b0; b < b1; ++b) {
      const uint8_t* blk = g + b * kBlockBytes;
      PrefetchAhead<T, kBlockBytes>(blk);
      typename V::I isum[T];
      for (int t = 0; t < T; ++t) isum[t] = V::ZeroI();
      for (int j = 0; j < 4; ++j) {
        typename V::I lo[8], hi[8];
        for (int c = 0; c < 8; ++c) {
          const auto raw = V::Load(blk + L::kQs + L::kChunkBytes * (8 * j + c), group_bytes);
          lo[c] = V::And(raw, low);
          hi[c] = V::And(V::Shr4(raw), low);
        }
        if constexpr (kFive) {
          // Bits 2k and 2k + 1 of chunk 4h + k's byte to bit 4 (as LayoutQ5_0 does).
          const auto five = V::Set1Bytes(0x10);
          for (int h = 0; h < 2; ++h) {
            const auto v = V::Load(blk + q5_kx8::kHigh + L::kChunkBytes * (2 * j + h), group_bytes);
            const typename V::I bits[8] = {V::Shl(v, 4), V::Shl(v, 2), v,
                                           V::Shr(v, 2), V::Shl(v, 3), V::Shl(v, 1),
                                           V::Shr(v, 1), V::Shr(v, 3)};
            for (int k = 0; k < 4; ++k) {
              lo[4 * h + k] = V::Or(lo[4 * h + k], V::And(bits[k], five));
              hi[4 * h + k] = V::Or(hi[4 * h + k], V::And(bits[4 + k], five));
            }
          }
        }
        const auto sc_lo = V::LoadU8To32(blk + L::kScales + 8 * (2 * j), group_bytes);
        const auto sc_hi = V::LoadU8To32(blk + L::kScales + 8 * (2 * j + 1), group_bytes);
        for (int t = 0; t < T; ++t) {
          const uint8_t* q = act + t * act_stride + b * kA + kQs + 64 * j;
          isum[t] = V::Add(isum[t], ScaledDot<8, V>(lo, q, sc_lo));
          isum[t] = V::Add(isum[t], ScaledDot<8, V>(hi, q + 32, sc_hi));
        }
      }
      typename V::I mins[4];
      for (int q = 0; q < 4; ++q) mins[q] = V::LoadU8To16(blk + L::kMins + 16 * q, group_bytes);
      const auto d = V::Scales(blk + L::kD, group_bytes);
      const auto dmin = V::Scales(blk + L::kDmin, group_bytes);
      for (int t = 0; t < T; ++t) {
        const int32_t* pairs = sums + (b * T + t) * 4;
        auto m = V::ZeroI();
        for (int q = 0; q < 4; ++q) m = V::Add(m, V::Madd16(mins[q], V::Set1(pairs[q])));
        acc[t] = V::MulAdd(isum[t], d, da[b * T + t], acc[t]);
        acc[t] = V::MulSub(m, dmin, da[b * T + t], acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) V::StoreF(y + t * y_stride, acc[t]);
  }

  template <int T>
  static HWY_INLINE void Tile(const MatrixRef& w, const uint8_t* act, int64_t act_stride, float* y,
                              int64_t y_stride, int64_t g0, int64_t g1) {
    const int64_t nb = w.cols / kElements;
    // Per token and super-block: the activation scale, and the sums of sub-blocks 2q and 2q + 1
    // (each within +-4096) as the i16 pair one multiply-add takes with the rows' mins.
    float da[T * kMaxColumnBlocks];
    int32_t sums[T * kMaxColumnBlocks * 4];
    for (int64_t b = 0; b < nb; ++b) {
      for (int t = 0; t < T; ++t) {
        const uint8_t* a = act + t * act_stride + b * kA;
        std::memcpy(&da[b * T + t], a + offsetof(Activation, d), sizeof(float));
        int16_t bsums[16];
        std::memcpy(bsums, a + offsetof(Activation, bsums), sizeof(bsums));
        for (int q = 0; q < 4; ++q) {
          const int lo = bsums[4 * q] + bsums[4 * q + 1], hi = bsums[4 * q + 2] + bsums[4 * q + 3];
          sums[(b * T + t) * 4 + q] =
              static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                                   (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
        }
      }
    }
    // Spans of 16 super-blocks: T tokens' activations for a span (T x 4.6 KiB) stay in L1.
    SpanGroups<PackedQ45_Kx8, T>(w, act, act_stride, T <= 2 ? nb : 16, y, y_stride, g0, g1, da,
                                 sums);
  }
};

// Q6_K rows interleaved 8 at a time (packed_layouts.h q6_kx8) against Q8_K activations: the
// 6-bit values are rebuilt from a chunk of low nibbles and its share of a chunk of high bits
// (amortized over the tile's tokens), dotted per sub-block of 16 and multiplied by the rows' i8
// scales like PackedQ45_Kx8; the -32 offset enters as -32 sum(scale x activation sums), one
// 16-bit multiply-add per pair of sub-blocks.
struct PackedQ6_Kx8 {
  static constexpr DType kType = DType::Q6_K;
  using Activation = quant::block_q8_k;
  using Block = KQ6_K;
  static constexpr int64_t kRows = q6_kx8::kRows;
  static constexpr int64_t kBlockBytes = q6_kx8::kBlockBytes;
  static constexpr int64_t kElements = Activation::kElements;
  static constexpr int64_t kMaxColumnBlocks = 64;  // 16384 columns: the tables below on the stack
  static constexpr int kA = static_cast<int>(sizeof(Activation));
  static constexpr int kQs = static_cast<int>(offsetof(Activation, qs));

  template <class V, int T>
  static HWY_INLINE void Groups(const uint8_t* g, int64_t group_bytes, const uint8_t* act,
                                int64_t act_stride, int64_t b0, int64_t b1, const float* da,
                                const int32_t* sums, float* y, int64_t y_stride, bool accumulate) {
    namespace L = q6_kx8;
    typename V::F acc[T];
    for (int t = 0; t < T; ++t) acc[t] = accumulate ? V::LoadF(y + t * y_stride) : V::Zero();
    const auto low = V::Set1Bytes(0x0F), top = V::Set1Bytes(0x30);
    for (int64_t b = b0; b < b1; ++b) {
      const uint8_t* blk = g + b * kBlockBytes;
      PrefetchAhead<T, kBlockBytes>(blk);
      typename V::I isum[T];
      for (int t = 0; t < T; ++t) isum[t] = V::ZeroI();
      // Scales 2q (low i16 of each lane) and 2q + 1 (high), as i16 pairs and as i32.
      typename V::I scales[8];
      for (int q = 0; q < 8; ++q) scales[q] = V::LoadI8To16(blk + L::kScales + 16 * q, group_bytes);
      for (int j = 0; j < 4; ++j) {
        typename V::I lo[8], hi[8];
        for (int p = 0; p < 4; ++p) {
          const auto h = V::Load(blk + L::kHigh + L::kChunkBytes * (4 * j + p), group_bytes);
          const auto r0 = V::Load(blk + L::kLow + L::kChunkBytes * (8 * j + 2 * p), group_bytes);
          const auto r1 =
              V::Load(blk + L::kLow + L::kChunkBytes * (8 * j + 2 * p + 1), group_bytes);
          lo[2 * p] = V::Or(V::And(r0, low), V::And(V::Shl(h, 4), top));
          hi[2 * p] = V::Or(V::And(V::Shr4(r0), low), V::And(V::Shl(h, 2), top));
          lo[2 * p + 1] = V::Or(V::And(r1, low), V::And(h, top));
          hi[2 * p + 1] = V::Or(V::And(V::Shr4(r1), low), V::And(V::Shr(h, 2), top));
        }
        // Sub-blocks 4j, 4j + 1 (low nibbles' elements), 4j + 2, 4j + 3 (high nibbles').
        const auto s0 = V::LowI16(scales[2 * j]), s1 = V::HighI16(scales[2 * j]);
        const auto s2 = V::LowI16(scales[2 * j + 1]), s3 = V::HighI16(scales[2 * j + 1]);
        for (int t = 0; t < T; ++t) {
          const uint8_t* q = act + t * act_stride + b * kA + kQs + 64 * j;
          auto s = ScaledDot<4, V>(lo, q, s0);
          s = V::Add(s, ScaledDot<4, V>(lo + 4, q + 16, s1));
          s = V::Add(s, ScaledDot<4, V>(hi, q + 32, s2));
          isum[t] = V::Add(isum[t], V::Add(s, ScaledDot<4, V>(hi + 4, q + 48, s3)));
        }
      }
      const auto d = V::Scales(blk + L::kD, group_bytes);
      for (int t = 0; t < T; ++t) {
        const int32_t* pairs = sums + (b * T + t) * 8;
        auto m = V::ZeroI();
        for (int q = 0; q < 8; ++q) m = V::Add(m, V::Madd16(scales[q], V::Set1(pairs[q])));
        acc[t] = V::MulAdd(V::Sub(isum[t], V::Shl32(m, 5)), d, da[b * T + t], acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) V::StoreF(y + t * y_stride, acc[t]);
  }

  template <int T>
  static HWY_INLINE void Tile(const MatrixRef& w, const uint8_t* act, int64_t act_stride, float* y,
                              int64_t y_stride, int64_t g0, int64_t g1) {
    const int64_t nb = w.cols / kElements;
    // Per token and super-block: the activation scale, and its sums of sub-blocks 2q and 2q + 1
    // (the activation's bsums) as the i16 pair one multiply-add takes with the rows' scales.
    float da[T * kMaxColumnBlocks];
    int32_t sums[T * kMaxColumnBlocks * 8];
    for (int64_t b = 0; b < nb; ++b) {
      for (int t = 0; t < T; ++t) {
        const uint8_t* a = act + t * act_stride + b * kA;
        std::memcpy(&da[b * T + t], a + offsetof(Activation, d), sizeof(float));
        std::memcpy(&sums[(b * T + t) * 8], a + offsetof(Activation, bsums), 32);
      }
    }
    SpanGroups<PackedQ6_Kx8, T>(w, act, act_stride, T <= 2 ? nb : 16, y, y_stride, g0, g1, da,
                                sums);
  }
};

using PackedKernels = KernelList<PackedX8<LayoutQ4_0>, PackedX8<LayoutQ4_1>, PackedX8<LayoutQ5_0>,
                                 PackedX8<LayoutQ5_1>, PackedX8<LayoutQ8_0>, PackedQ45_Kx8<false>,
                                 PackedQ45_Kx8<true>, PackedQ6_Kx8>;

#else
using PackedKernels = KernelList<>;
#endif

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#endif  // HWY_TARGET != HWY_SCALAR
#endif  // per-target include guard
