// RMSNorm, LayerNorm and softmax, compiled per Highway target. Row sums end in double (as
// llama.cpp's ggml_float sums do), so their rounding error does not grow with the row length;
// the per-element work stays in f32.
#include <cmath>

#include "kernels/isa.h"
#include "kernels/reference.h"

#include "kernels/hwy_config.h"  // must precede Highway
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/norm_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// sum_i f(x[i]): f applied in f32 vectors, summed in f32 lanes over blocks of kBlock elements,
// and the blocks' sums added in double. A lane then adds at most kBlock / lanes terms before its
// sum is flushed, so the relative error of a sum of non-negative terms is bounded by about
// (kBlock / lanes + log2(lanes) + 1) ulp whatever the row length (the plain f32 loop's bound grows
// with n / lanes). Portable to every target, including Highway's one-lane HWY_SCALAR fallback.
constexpr int64_t kBlock = 256;

template <class F, class FS>
HWY_INLINE double SumF64(const float* x, int64_t n_elems, F f, FS f_scalar) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  double sum = 0.0;
  int64_t i = 0;
  while (i + n <= n_elems) {
    const int64_t block_end = n_elems - i > kBlock ? i + kBlock : n_elems;
    VF acc = hn::Zero(df);
    for (; i + n <= block_end; i += n) acc = hn::Add(acc, f(hn::LoadU(df, x + i)));
    sum += static_cast<double>(hn::GetLane(hn::SumOfLanes(df, acc)));
  }
  for (; i < n_elems; ++i) sum += static_cast<double>(f_scalar(x[i]));
  return sum;
}

void RmsNorm(const float* x, const float* w, float eps, float* y, int64_t n_elems) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const double sum_sq = SumF64(
      x, n_elems, [](VF v) { return hn::Mul(v, v); }, [](float v) { return v * v; });
  const float inv =
      static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n_elems) + eps));
  const VF vinv = hn::Set(df, inv);
  int64_t i = 0;
  if (w) {
    for (; i + n <= n_elems; i += n) {
      const VF v = hn::Mul(hn::LoadU(df, x + i), vinv);
      hn::StoreU(hn::Mul(v, hn::LoadU(df, w + i)), df, y + i);
    }
    for (; i < n_elems; ++i) y[i] = x[i] * inv * w[i];
  } else {
    for (; i + n <= n_elems; i += n) hn::StoreU(hn::Mul(hn::LoadU(df, x + i), vinv), df, y + i);
    for (; i < n_elems; ++i) y[i] = x[i] * inv;
  }
}

void LayerNorm(const float* x, const float* w, const float* b, float eps, float* y,
               int64_t n_elems) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const float mean =
      static_cast<float>(SumF64(
                             x, n_elems, [](VF v) { return v; }, [](float v) { return v; }) /
                         static_cast<double>(n_elems));
  const VF vmean = hn::Set(df, mean);
  const double var = SumF64(
      x, n_elems,
      [&](VF v) {
        const VF d = hn::Sub(v, vmean);
        return hn::Mul(d, d);
      },
      [&](float v) { return (v - mean) * (v - mean); });
  const float inv = static_cast<float>(1.0 / std::sqrt(var / static_cast<double>(n_elems) + eps));
  const VF vinv = hn::Set(df, inv);
  int64_t i = 0;
  for (; i + n <= n_elems; i += n) {
    VF v = hn::Mul(hn::Sub(hn::LoadU(df, x + i), vmean), vinv);
    if (w) v = hn::Mul(v, hn::LoadU(df, w + i));
    if (b) v = hn::Add(v, hn::LoadU(df, b + i));
    hn::StoreU(v, df, y + i);
  }
  for (; i < n_elems; ++i) {
    float v = (x[i] - mean) * inv;
    if (w) v *= w[i];
    if (b) v += b[i];
    y[i] = v;
  }
}

void Softmax(float* x, int64_t n_elems) {
  if (n_elems <= 0) return;
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  float max = x[0];
  {
    int64_t i = 0;
    if (n_elems >= n) {
      VF vmax = hn::LoadU(df, x);
      for (i = n; i + n <= n_elems; i += n) vmax = hn::Max(vmax, hn::LoadU(df, x + i));
      max = hn::GetLane(hn::MaxOfLanes(df, vmax));
    }
    for (; i < n_elems; ++i) max = x[i] > max ? x[i] : max;
  }
  const VF vmax = hn::Set(df, max);
  double sum = 0.0;
  int64_t i = 0;
  while (i + n <= n_elems) {
    const int64_t block_end = n_elems - i > kBlock ? i + kBlock : n_elems;
    VF acc = hn::Zero(df);
    for (; i + n <= block_end; i += n) {
      const VF e = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), vmax));
      hn::StoreU(e, df, x + i);
      acc = hn::Add(acc, e);
    }
    sum += static_cast<double>(hn::GetLane(hn::SumOfLanes(df, acc)));
  }
  for (; i < n_elems; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  const VF vinv = hn::Set(df, inv);
  for (i = 0; i + n <= n_elems; i += n) hn::StoreU(hn::Mul(hn::LoadU(df, x + i), vinv), df, x + i);
  for (; i < n_elems; ++i) x[i] *= inv;
}

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slmkit::kernels {

HWY_EXPORT(RmsNorm);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(Softmax);

void rms_norm(const float* x, const float* w, float eps, float* y, int64_t n) {
  if (use_scalar()) return ref::rms_norm(x, w, eps, y, n);
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, w, eps, y, n);
}

void layer_norm(const float* x, const float* w, const float* b, float eps, float* y, int64_t n) {
  if (use_scalar()) return ref::layer_norm(x, w, b, eps, y, n);
  HWY_DYNAMIC_DISPATCH(LayerNorm)(x, w, b, eps, y, n);
}

void softmax(float* x, int64_t n) {
  if (use_scalar()) return ref::softmax(x, n);
  HWY_DYNAMIC_DISPATCH(Softmax)(x, n);
}

}  // namespace slmkit::kernels
#endif  // HWY_ONCE
