// Dot products and matrix-times-activations for F32 / F16 / BF16 weight rows with f32
// activations, compiled once per Highway target (foreach_target) and dispatched at run time.
//
// matmul works on tiles of R weight rows x T tokens: each weight vector loaded (and widened from
// f16/bf16) is used T times, each activation vector R times. Rows are visited in panels of about
// 128 KiB of weights, so while every token block streams through a panel it stays in L2.
//
// A single token (decode) is different: each weight is used once, so the kernel is bound by
// memory bandwidth, and it reads the rows one after another (one sequential stream, which the
// hardware prefetcher follows far better than the four interleaved short streams of a 4-row
// tile) with a software prefetch a few pages ahead, since hardware prefetchers stop at 4 KiB page
// boundaries. On one core of the EPYC dev machine this took distilgpt2 F16 decode from 10.7 to
// about 5.5-6.5 ms per token (f16_kernel_bench: the 50257 x 768 LM head from 3.4 to 1.9 ms).
#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "kernels/isa.h"
#include "kernels/packed_layouts.h"
#include "kernels/reference.h"

#include "kernels/hwy_config.h"  // must precede Highway
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_hwy.cpp"
#include "hwy/cache_control.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// AVX-512 has 32 vector registers: a 4 x 6 tile keeps 24 accumulators, 6 activations and one
// weight vector in registers (4 x 6 measured about 20% faster than 4 x 4 on a 2048 x 2048 F16
// product of 128 tokens). The 16-register targets use 4 x 2.
constexpr int kTileTokens = (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL) ? 6 : 2;
constexpr int kTileRows = 4;
constexpr int64_t kPanelBytes = 128 * 1024;
// Decode prefetch distance: 4, 6 and 8 KiB measured alike, and 10-20% faster than none or 2 KiB.
constexpr int64_t kPrefetchBytes = 8 * 1024;

using D4 = hn::CappedTag<float, 4>;
using V4 = hn::Vec<D4>;

// Lanes(d) weights starting at p, widened to f32.
template <class D>
HWY_INLINE hn::Vec<D> LoadW(D d, const float* p) {
  return hn::LoadU(d, p);
}
template <class D>
HWY_INLINE hn::Vec<D> LoadW(D d, const hwy::float16_t* p) {
  const hn::Rebind<hwy::float16_t, D> dh;
  return hn::PromoteTo(d, hn::LoadU(dh, p));
}
template <class D>
HWY_INLINE hn::Vec<D> LoadW(D d, const hwy::bfloat16_t* p) {
  const hn::Rebind<hwy::bfloat16_t, D> dh;
  return hn::PromoteTo(d, hn::LoadU(dh, p));
}

// A weight row's bytes as WT elements. The address may be misaligned for WT (tests use odd
// offsets); it is read only through LoadU and memcpy, so the cast goes through void* rather than
// reinterpret_cast, which strict-alignment targets (riscv64) flag with -Wcast-align.
template <class WT>
HWY_INLINE const WT* AsElements(const std::byte* p) {
  return static_cast<const WT*>(static_cast<const void*>(p));
}
HWY_INLINE float ScalarW(const float* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
HWY_INLINE float ScalarW(const hwy::float16_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return f16_to_f32(bits);
}
HWY_INLINE float ScalarW(const hwy::bfloat16_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return bf16_to_f32(bits);
}

// y[t * y_stride + i] = dot(row i, token t) for i < R, t < T. With few accumulators the loop is
// unrolled U times so that enough FMA chains are in flight. kPrefetch: fetch the weights
// kPrefetchBytes ahead of each row pointer (into the following rows).
template <int R, int T, class WT, int U = (R * T < 8 ? 2 : 1), bool kPrefetch = false>
HWY_INLINE void Tile(const std::byte* w0, int64_t w_stride, const float* x, int64_t x_stride,
                     int64_t k_len, float* y, int64_t y_stride) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const WT* w[R];
  for (int i = 0; i < R; ++i) w[i] = AsElements<WT>(w0 + i * w_stride);
  VF acc[U][R][T];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < R; ++i)
      for (int t = 0; t < T; ++t) acc[u][i][t] = hn::Zero(df);

  int64_t k = 0;
  for (; k + U * n <= k_len; k += U * n) {
    if constexpr (kPrefetch) {
      for (int i = 0; i < R; ++i) {
        const auto* p = reinterpret_cast<const std::byte*>(w[i] + k) + kPrefetchBytes;
        for (int64_t b = 0; b < U * n * static_cast<int64_t>(sizeof(WT)); b += 64) {
          hwy::Prefetch(p + b);
        }
      }
    }
    for (int u = 0; u < U; ++u) {
      VF xv[T];
      for (int t = 0; t < T; ++t) xv[t] = hn::LoadU(df, x + t * x_stride + k + u * n);
      for (int i = 0; i < R; ++i) {
        const VF wv = LoadW(df, w[i] + k + u * n);
        for (int t = 0; t < T; ++t) acc[u][i][t] = hn::MulAdd(wv, xv[t], acc[u][i][t]);
      }
    }
  }
  for (; k + n <= k_len; k += n) {
    VF xv[T];
    for (int t = 0; t < T; ++t) xv[t] = hn::LoadU(df, x + t * x_stride + k);
    for (int i = 0; i < R; ++i) {
      const VF wv = LoadW(df, w[i] + k);
      for (int t = 0; t < T; ++t) acc[0][i][t] = hn::MulAdd(wv, xv[t], acc[0][i][t]);
    }
  }
  float sums[R][T];
  for (int i = 0; i < R; ++i) {
    for (int t = 0; t < T; ++t) {
      VF sum = acc[0][i][t];
      for (int u = 1; u < U; ++u) sum = hn::Add(sum, acc[u][i][t]);
      sums[i][t] = hn::GetLane(hn::SumOfLanes(df, sum));
    }
  }
  // Tails shorter than a full vector (and rows shorter than one: attention heads of 8 or 32
  // dimensions on AVX-512) go through 4-lane vectors before the last few scalars.
  if (n > 4 && k + 4 <= k_len) {
    const D4 d4;
    V4 acc4[R][T];
    for (int i = 0; i < R; ++i)
      for (int t = 0; t < T; ++t) acc4[i][t] = hn::Zero(d4);
    for (; k + 4 <= k_len; k += 4) {
      V4 xv[T];
      for (int t = 0; t < T; ++t) xv[t] = hn::LoadU(d4, x + t * x_stride + k);
      for (int i = 0; i < R; ++i) {
        const V4 wv = LoadW(d4, w[i] + k);
        for (int t = 0; t < T; ++t) acc4[i][t] = hn::MulAdd(wv, xv[t], acc4[i][t]);
      }
    }
    for (int i = 0; i < R; ++i)
      for (int t = 0; t < T; ++t) sums[i][t] += hn::GetLane(hn::SumOfLanes(d4, acc4[i][t]));
  }
  for (int i = 0; i < R; ++i) {
    for (int t = 0; t < T; ++t) {
      float s = sums[i][t];
      for (int64_t kk = k; kk < k_len; ++kk) s += ScalarW(w[i] + kk) * x[t * x_stride + kk];
      y[t * y_stride + i] = s;
    }
  }
}

template <int T, class WT>
HWY_INLINE void PanelForTokens(const MatrixRef& w, const float* x, int64_t x_stride, float* y,
                               int64_t y_stride, int64_t r0, int64_t r1) {
  int64_t r = r0;
  if constexpr (T == 1) {
    for (; r < r1; ++r) {
      Tile<1, 1, WT, 4, true>(w.row(r), w.row_stride_bytes, x, x_stride, w.cols, y + r, y_stride);
    }
    return;
  }
  for (; r + kTileRows <= r1; r += kTileRows) {
    Tile<kTileRows, T, WT>(w.row(r), w.row_stride_bytes, x, x_stride, w.cols, y + r, y_stride);
  }
  for (; r < r1; ++r)
    Tile<1, T, WT>(w.row(r), w.row_stride_bytes, x, x_stride, w.cols, y + r, y_stride);
}

template <class WT>
HWY_INLINE void MatmulT(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                        float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  const int64_t row_bytes = std::max<int64_t>(1, w.cols * static_cast<int64_t>(sizeof(WT)));
  const int64_t panel =
      std::max<int64_t>(kTileRows, kPanelBytes / row_bytes / kTileRows * kTileRows);
  for (int64_t p0 = r0; p0 < r1; p0 += panel) {
    const int64_t p1 = std::min(r1, p0 + panel);
    int64_t t = 0;
    for (; t + kTileTokens <= n_tokens; t += kTileTokens) {
      PanelForTokens<kTileTokens, WT>(w, x + t * x_stride, x_stride, y + t * y_stride, y_stride, p0,
                                      p1);
    }
    for (; t < n_tokens; ++t) {
      PanelForTokens<1, WT>(w, x + t * x_stride, x_stride, y + t * y_stride, y_stride, p0, p1);
    }
  }
}

void MatmulF32(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
               int64_t y_stride, int64_t r0, int64_t r1) {
  MatmulT<float>(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
}
// F16 or BF16 rows interleaved 16 at a time (packed_layouts.h f16x16): a vector holds column k of
// 16 (or, narrower, part of 16) rows and meets each token's broadcast activation, as
// ColumnsForTokens does for W^T: no horizontal sums, one broadcast per token and column for 16 rows
// instead of a vector load per row, and every FMA's weight widened once per tile. AVX-512: 2 groups
// x 12 tokens (24 accumulators); AVX2: 1 group (2 vectors) x 6 tokens. A single token unrolls along
// the columns instead, for 4 FMA chains.
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr bool kHasPackedF16 = true;
#else
constexpr bool kHasPackedF16 = false;
#endif
constexpr int64_t kF16Rows = f16x16::kRows;
constexpr int kF16Groups = (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL) ? 2 : 1;
constexpr int kF16Tokens = (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL) ? 12 : 6;

template <int G, int T, int U, class WT>
HWY_INLINE void Packed16Tile(const WT* p, int64_t group_elems, const float* x, int64_t x_stride,
                             int64_t k_len, float* y, int64_t y_stride) {
  const DF df;
  const hn::Rebind<WT, DF> dh;
  constexpr int kN = static_cast<int>(hn::MaxLanes(DF()));
  constexpr int kPerGroup = kF16Rows >= kN ? static_cast<int>(kF16Rows) / kN : 1;
  constexpr int kV = G * kPerGroup;  // vectors down a column of the tile
  static_assert(kF16Rows % kN == 0, "a vector holds whole rows of a group");
  VF acc[U][kV][T];
  for (int u = 0; u < U; ++u)
    for (int v = 0; v < kV; ++v)
      for (int t = 0; t < T; ++t) acc[u][v][t] = hn::Zero(df);
  auto step = [&](int u, int64_t k) {
    VF w[kV];
    for (int v = 0; v < kV; ++v) {
      w[v] = hn::PromoteTo(df, hn::LoadU(dh, p + (v / kPerGroup) * group_elems + k * kF16Rows +
                                                 (v % kPerGroup) * kN));
    }
    for (int t = 0; t < T; ++t) {
      const VF xb = hn::Set(df, x[t * x_stride + k]);
      for (int v = 0; v < kV; ++v) acc[u][v][t] = hn::MulAdd(w[v], xb, acc[u][v][t]);
    }
  };
  int64_t k = 0;
  for (; k + U <= k_len; k += U) {
    if constexpr (T == 1) {
      const auto* ahead = reinterpret_cast<const std::byte*>(p + k * kF16Rows) + kPrefetchBytes;
      for (int64_t b = 0; b < U * kF16Rows * 2; b += 64) hwy::Prefetch(ahead + b);
    }
    for (int u = 0; u < U; ++u) step(u, k + u);
  }
  for (; k < k_len; ++k) step(0, k);
  for (int v = 0; v < kV; ++v) {
    for (int t = 0; t < T; ++t) {
      VF sum = acc[0][v][t];
      for (int u = 1; u < U; ++u) sum = hn::Add(sum, acc[u][v][t]);
      hn::StoreU(sum, df, y + t * y_stride + v * kN);
    }
  }
}

// Groups [g0, g1) for T tokens, kF16Groups at a time.
template <int T, int U, class WT>
HWY_INLINE void Packed16Groups(const WT* base, int64_t group_elems, const float* x,
                               int64_t x_stride, int64_t k_len, float* y, int64_t y_stride,
                               int64_t g0, int64_t g1) {
  int64_t g = g0;
  if constexpr (T > 1) {
    for (; g + kF16Groups <= g1; g += kF16Groups) {
      Packed16Tile<kF16Groups, T, U, WT>(base + g * group_elems, group_elems, x, x_stride, k_len,
                                         y + g * kF16Rows, y_stride);
    }
  }
  for (; g < g1; ++g) {
    Packed16Tile<1, T, U, WT>(base + g * group_elems, group_elems, x, x_stride, k_len,
                              y + g * kF16Rows, y_stride);
  }
}

// Whole groups inside [r0, r1) from the packed copy, in panels of about kPanelBytes that every
// token tile meets while they stay in L2; the rows around them from the rows.
template <class WT>
void Packed16(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
              int64_t y_stride, int64_t r0, int64_t r1) {
  const int64_t g0 = (r0 + kF16Rows - 1) / kF16Rows, g1 = r1 / kF16Rows;
  if (!kHasPackedF16 || g0 >= g1) {
    return MatmulT<WT>(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
  }
  if (r0 < g0 * kF16Rows) {
    MatmulT<WT>(w, x, x_stride, n_tokens, y, y_stride, r0, g0 * kF16Rows);
  }
  if (g1 * kF16Rows < r1) {
    MatmulT<WT>(w, x, x_stride, n_tokens, y, y_stride, g1 * kF16Rows, r1);
  }
  const auto* base = AsElements<WT>(w.packed);
  const int64_t group_elems = w.cols * kF16Rows;
  const int64_t group_bytes = group_elems * static_cast<int64_t>(sizeof(uint16_t));
  const int64_t panel = std::max<int64_t>(kF16Groups, 2 * kPanelBytes / group_bytes);
  for (int64_t p0 = g0; p0 < g1; p0 += panel) {
    const int64_t p1 = std::min(g1, p0 + panel);
    int64_t t = 0;
    for (; t + kF16Tokens <= n_tokens; t += kF16Tokens) {
      Packed16Groups<kF16Tokens, 1, WT>(base, group_elems, x + t * x_stride, x_stride, w.cols,
                                        y + t * y_stride, y_stride, p0, p1);
    }
    if constexpr (kF16Tokens > 6) {
      for (; t + 6 <= n_tokens; t += 6) {
        Packed16Groups<6, 1, WT>(base, group_elems, x + t * x_stride, x_stride, w.cols,
                                 y + t * y_stride, y_stride, p0, p1);
      }
    }
    for (; t + 2 <= n_tokens; t += 2) {
      Packed16Groups<2, 1, WT>(base, group_elems, x + t * x_stride, x_stride, w.cols,
                               y + t * y_stride, y_stride, p0, p1);
    }
    for (; t < n_tokens; ++t) {
      Packed16Groups<1, 4, WT>(base, group_elems, x + t * x_stride, x_stride, w.cols,
                               y + t * y_stride, y_stride, p0, p1);
    }
  }
}

bool HasPackedF16() {
  return kHasPackedF16;
}

void MatmulF16(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
               int64_t y_stride, int64_t r0, int64_t r1) {
  if (w.packed) return Packed16<hwy::float16_t>(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
  MatmulT<hwy::float16_t>(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
}
void MatmulBF16(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                int64_t y_stride, int64_t r0, int64_t r1) {
  if (w.packed) return Packed16<hwy::bfloat16_t>(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
  MatmulT<hwy::bfloat16_t>(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
}

// y[t, c] = sum_r W[r, c] x[t, r] for columns [c0, c1): vectors run along the columns, each
// weight vector meets every token's broadcast activation, and no horizontal sums are needed.
// U column vectors are in flight per step so that a single token still has several FMA chains.
template <int T, int U, class WT>
HWY_INLINE void ColumnsForTokens(const MatrixRef& w, const float* x, int64_t x_stride, float* y,
                                 int64_t y_stride, int64_t c0, int64_t c1) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  auto row = [&](int64_t r) { return AsElements<WT>(w.row(r)); };
  int64_t c = c0;
  for (; c + U * n <= c1; c += U * n) {
    VF acc[U][T];
    for (int u = 0; u < U; ++u)
      for (int t = 0; t < T; ++t) acc[u][t] = hn::Zero(df);
    for (int64_t r = 0; r < w.rows; ++r) {
      VF xv[T];
      for (int t = 0; t < T; ++t) xv[t] = hn::Set(df, x[t * x_stride + r]);
      for (int u = 0; u < U; ++u) {
        const VF wv = LoadW(df, row(r) + c + u * n);
        for (int t = 0; t < T; ++t) acc[u][t] = hn::MulAdd(wv, xv[t], acc[u][t]);
      }
    }
    for (int u = 0; u < U; ++u)
      for (int t = 0; t < T; ++t) hn::StoreU(acc[u][t], df, y + t * y_stride + c + u * n);
  }
  for (; c + n <= c1; c += n) {
    VF acc[T];
    for (int t = 0; t < T; ++t) acc[t] = hn::Zero(df);
    for (int64_t r = 0; r < w.rows; ++r) {
      const VF wv = LoadW(df, row(r) + c);
      for (int t = 0; t < T; ++t) acc[t] = hn::MulAdd(wv, hn::Set(df, x[t * x_stride + r]), acc[t]);
    }
    for (int t = 0; t < T; ++t) hn::StoreU(acc[t], df, y + t * y_stride + c);
  }
  if (n > 4) {
    const D4 d4;
    for (; c + 4 <= c1; c += 4) {
      V4 acc[T];
      for (int t = 0; t < T; ++t) acc[t] = hn::Zero(d4);
      for (int64_t r = 0; r < w.rows; ++r) {
        const V4 wv = LoadW(d4, row(r) + c);
        for (int t = 0; t < T; ++t) {
          acc[t] = hn::MulAdd(wv, hn::Set(d4, x[t * x_stride + r]), acc[t]);
        }
      }
      for (int t = 0; t < T; ++t) hn::StoreU(acc[t], d4, y + t * y_stride + c);
    }
  }
  for (; c < c1; ++c) {
    for (int t = 0; t < T; ++t) {
      float sum = 0.0f;
      for (int64_t r = 0; r < w.rows; ++r) sum += ScalarW(row(r) + c) * x[t * x_stride + r];
      y[t * y_stride + c] = sum;
    }
  }
}

template <class WT>
HWY_INLINE void MatmulTransposedT(const MatrixRef& w, const float* x, int64_t x_stride,
                                  int64_t n_tokens, float* y, int64_t y_stride, int64_t c0,
                                  int64_t c1) {
  int64_t t = 0;
  for (; t + 4 <= n_tokens; t += 4) {
    ColumnsForTokens<4, 1, WT>(w, x + t * x_stride, x_stride, y + t * y_stride, y_stride, c0, c1);
  }
  for (; t + 2 <= n_tokens; t += 2) {
    ColumnsForTokens<2, 2, WT>(w, x + t * x_stride, x_stride, y + t * y_stride, y_stride, c0, c1);
  }
  for (; t < n_tokens; ++t) {
    ColumnsForTokens<1, 4, WT>(w, x + t * x_stride, x_stride, y + t * y_stride, y_stride, c0, c1);
  }
}

void MatmulTransposedF32(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                         float* y, int64_t y_stride, int64_t c0, int64_t c1) {
  MatmulTransposedT<float>(w, x, x_stride, n_tokens, y, y_stride, c0, c1);
}
void MatmulTransposedF16(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                         float* y, int64_t y_stride, int64_t c0, int64_t c1) {
  MatmulTransposedT<hwy::float16_t>(w, x, x_stride, n_tokens, y, y_stride, c0, c1);
}
void MatmulTransposedBF16(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                          float* y, int64_t y_stride, int64_t c0, int64_t c1) {
  MatmulTransposedT<hwy::bfloat16_t>(w, x, x_stride, n_tokens, y, y_stride, c0, c1);
}

template <class WT>
HWY_INLINE float DotT(const std::byte* w_bytes, const float* x, int64_t k_len) {
  float y;
  Tile<1, 1, WT>(w_bytes, 0, x, 0, k_len, &y, 0);
  return y;
}
float DotF32(const std::byte* w, const float* x, int64_t n) {
  return DotT<float>(w, x, n);
}
float DotF16(const std::byte* w, const float* x, int64_t n) {
  return DotT<hwy::float16_t>(w, x, n);
}
float DotBF16(const std::byte* w, const float* x, int64_t n) {
  return DotT<hwy::bfloat16_t>(w, x, n);
}

template <class WT>
HWY_INLINE void RowToF32T(const std::byte* row_bytes, float* out, int64_t n_elems) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const WT* row = AsElements<WT>(row_bytes);
  int64_t i = 0;
  for (; i + n <= n_elems; i += n) hn::StoreU(LoadW(df, row + i), df, out + i);
  for (; i < n_elems; ++i) out[i] = ScalarW(row + i);
}
void RowToF32F16(const std::byte* row, float* out, int64_t n) {
  RowToF32T<hwy::float16_t>(row, out, n);
}
void RowToF32BF16(const std::byte* row, float* out, int64_t n) {
  RowToF32T<hwy::bfloat16_t>(row, out, n);
}

// Round-to-nearest-even onto the f16 grid, on the f32 bit pattern: normal f16 range by adding
// half an f16 ulp (minus one, plus the kept lsb) and clearing the dropped bits; the subnormal
// range by letting an f32 addition at 0.5 (whose ulp, 2^-24, is the f16 subnormal step) round;
// |x| >= 65520 overflows to infinity; NaN becomes the quiet NaN f16 conversion produces.
void RoundF16(const float* x, float* y, int64_t n_elems) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const auto sign_mask = hn::Set(di, static_cast<int32_t>(0x80000000u));
  const auto abs_mask = hn::Set(di, 0x7fffffff);
  const auto one = hn::Set(di, 1);
  const auto round_bias = hn::Set(di, 0xfff);
  const auto keep_mask = hn::Set(di, ~0x1fff);
  const auto min_normal = hn::Set(di, 0x38800000);
  const auto overflow = hn::Set(di, 0x477ff000);
  const auto inf = hn::Set(di, 0x7f800000);
  const auto qnan = hn::Set(di, 0x7fc00000);
  const auto half = hn::Set(df, 0.5f);
  auto round = [&](VF v) {
    const auto bits = hn::BitCast(di, v);
    const auto sign = hn::And(bits, sign_mask);
    const auto abs = hn::And(bits, abs_mask);
    const auto lsb = hn::And(hn::ShiftRight<13>(abs), one);
    const auto normal = hn::And(hn::Add(abs, hn::Add(round_bias, lsb)), keep_mask);
    const auto sub = hn::BitCast(di, hn::Sub(hn::Add(hn::BitCast(df, abs), half), half));
    auto r = hn::IfThenElse(hn::Lt(abs, min_normal), sub, normal);
    r = hn::IfThenElse(hn::Lt(abs, overflow), r, inf);
    r = hn::IfThenElse(hn::Gt(abs, inf), qnan, r);
    return hn::BitCast(df, hn::Or(r, sign));
  };
  int64_t i = 0;
  for (; i + n <= n_elems; i += n) hn::StoreU(round(hn::LoadU(df, x + i)), df, y + i);
  for (; i < n_elems; ++i) y[i] = f16_to_f32(f32_to_f16(x[i]));
}

void RoundBF16(const float* x, float* y, int64_t n_elems) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const auto abs_mask = hn::Set(di, 0x7fffffff);
  const auto one = hn::Set(di, 1);
  const auto round_bias = hn::Set(di, 0x7fff);
  const auto keep_mask = hn::Set(di, static_cast<int32_t>(0xffff0000u));
  const auto inf = hn::Set(di, 0x7f800000);
  const auto quiet = hn::Set(di, 0x00400000);
  auto round = [&](VF v) {
    const auto bits = hn::BitCast(di, v);
    const auto lsb = hn::And(hn::ShiftRight<16>(bits), one);
    const auto rounded = hn::And(hn::Add(bits, hn::Add(round_bias, lsb)), keep_mask);
    const auto nan = hn::And(hn::Or(bits, quiet), keep_mask);
    return hn::BitCast(df, hn::IfThenElse(hn::Gt(hn::And(bits, abs_mask), inf), nan, rounded));
  };
  int64_t i = 0;
  for (; i + n <= n_elems; i += n) hn::StoreU(round(hn::LoadU(df, x + i)), df, y + i);
  for (; i < n_elems; ++i) y[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slmkit::kernels {

HWY_EXPORT(MatmulF32);
HWY_EXPORT(MatmulF16);
HWY_EXPORT(HasPackedF16);
HWY_EXPORT(MatmulBF16);
HWY_EXPORT(MatmulTransposedF32);
HWY_EXPORT(MatmulTransposedF16);
HWY_EXPORT(MatmulTransposedBF16);
HWY_EXPORT(DotF32);
HWY_EXPORT(DotF16);
HWY_EXPORT(DotBF16);
HWY_EXPORT(RowToF32F16);
HWY_EXPORT(RowToF32BF16);
HWY_EXPORT(RoundF16);
HWY_EXPORT(RoundBF16);

bool has_packed_f16_kernel() {
  return !use_scalar() && HWY_DYNAMIC_DISPATCH(HasPackedF16)();
}

float dot(DType type, const std::byte* w, const float* x, int64_t n) {
  if (use_scalar()) return ref::dot(type, w, x, n);
  switch (type) {
    case DType::F32:
      return HWY_DYNAMIC_DISPATCH(DotF32)(w, x, n);
    case DType::F16:
      return HWY_DYNAMIC_DISPATCH(DotF16)(w, x, n);
    case DType::BF16:
      return HWY_DYNAMIC_DISPATCH(DotBF16)(w, x, n);
    default:
      return ref::dot(type, w, x, n);  // throws: no kernel for this type
  }
}

void matmul(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, int64_t r0, int64_t r1) {
  if (use_scalar()) return ref::matmul(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
  switch (w.dtype) {
    case DType::F32:
      return HWY_DYNAMIC_DISPATCH(MatmulF32)(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
    case DType::F16:
      return HWY_DYNAMIC_DISPATCH(MatmulF16)(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
    case DType::BF16:
      return HWY_DYNAMIC_DISPATCH(MatmulBF16)(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
    default:
      return ref::matmul(w, x, x_stride, n_tokens, y, y_stride, r0, r1);  // throws
  }
}

void matmul_transposed(const MatrixRef& w, const float* x, int64_t x_stride, int64_t n_tokens,
                       float* y, int64_t y_stride, int64_t c0, int64_t c1) {
  if (use_scalar()) return ref::matmul_transposed(w, x, x_stride, n_tokens, y, y_stride, c0, c1);
  switch (w.dtype) {
    case DType::F32:
      return HWY_DYNAMIC_DISPATCH(MatmulTransposedF32)(w, x, x_stride, n_tokens, y, y_stride, c0,
                                                       c1);
    case DType::F16:
      return HWY_DYNAMIC_DISPATCH(MatmulTransposedF16)(w, x, x_stride, n_tokens, y, y_stride, c0,
                                                       c1);
    case DType::BF16:
      return HWY_DYNAMIC_DISPATCH(MatmulTransposedBF16)(w, x, x_stride, n_tokens, y, y_stride, c0,
                                                        c1);
    default:
      return ref::matmul_transposed(w, x, x_stride, n_tokens, y, y_stride, c0, c1);  // throws
  }
}

void row_to_f32(DType type, const std::byte* row, float* out, int64_t n) {
  if (use_scalar()) return ref::row_to_f32(type, row, out, n);
  switch (type) {
    case DType::F32:
      std::memcpy(out, row, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
      return HWY_DYNAMIC_DISPATCH(RowToF32F16)(row, out, n);
    case DType::BF16:
      return HWY_DYNAMIC_DISPATCH(RowToF32BF16)(row, out, n);
    default:
      return ref::row_to_f32(type, row, out, n);  // throws
  }
}

void round_to_grid(DType grid, const float* x, float* y, int64_t n) {
  if (use_scalar()) return ref::round_to_grid(grid, x, y, n);
  switch (grid) {
    case DType::F16:
      return HWY_DYNAMIC_DISPATCH(RoundF16)(x, y, n);
    case DType::BF16:
      return HWY_DYNAMIC_DISPATCH(RoundBF16)(x, y, n);
    default:
      return ref::round_to_grid(grid, x, y, n);
  }
}

}  // namespace slmkit::kernels
#endif  // HWY_ONCE
