// Rotary position embedding, compiled per Highway target. The caller supplies the cos/sin of
// each rotation angle for the token (computed once per position, shared by all heads and layers
// of the same frequency base). The "normal" layout rotates adjacent pairs, which are split into
// even and odd lanes with LoadInterleaved2; "neox" rotates the two halves of the rotated span.
#include "kernels/isa.h"
#include "kernels/reference.h"

#include "kernels/hwy_config.h"  // must precede Highway
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/rope_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

void Rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_dims, const float* cos,
          const float* sin, bool neox) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const int64_t half = n_dims / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    int64_t i = 0;
    if (neox) {
      for (; i + n <= half; i += n) {
        const VF a = hn::LoadU(df, v + i);
        const VF b = hn::LoadU(df, v + half + i);
        const VF c = hn::LoadU(df, cos + i);
        const VF s = hn::LoadU(df, sin + i);
        hn::StoreU(hn::MulSub(a, c, hn::Mul(b, s)), df, v + i);
        hn::StoreU(hn::MulAdd(a, s, hn::Mul(b, c)), df, v + half + i);
      }
      for (; i < half; ++i) {
        const float a = v[i];
        const float b = v[half + i];
        v[i] = a * cos[i] - b * sin[i];
        v[half + i] = a * sin[i] + b * cos[i];
      }
    } else {
      for (; i + n <= half; i += n) {
        VF a, b;
        hn::LoadInterleaved2(df, v + 2 * i, a, b);
        const VF c = hn::LoadU(df, cos + i);
        const VF s = hn::LoadU(df, sin + i);
        hn::StoreInterleaved2(hn::MulSub(a, c, hn::Mul(b, s)), hn::MulAdd(a, s, hn::Mul(b, c)), df,
                              v + 2 * i);
      }
      for (; i < half; ++i) {
        const float a = v[2 * i];
        const float b = v[2 * i + 1];
        v[2 * i] = a * cos[i] - b * sin[i];
        v[2 * i + 1] = a * sin[i] + b * cos[i];
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slmkit::kernels {

HWY_EXPORT(Rope);

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_dims, const float* cos,
          const float* sin, bool neox) {
  if (use_scalar()) return ref::rope(x, n_heads, head_dim, n_dims, cos, sin, neox);
  HWY_DYNAMIC_DISPATCH(Rope)(x, n_heads, head_dim, n_dims, cos, sin, neox);
}

}  // namespace slmkit::kernels
#endif  // HWY_ONCE
