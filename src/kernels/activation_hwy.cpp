// Element-wise kernels (activations, soft-capping, add/mul/scale), compiled per Highway target.
// exp and tanh come from Highway's contrib/math (documented max errors: exp 1 ulp, tanh 4 ulp).
#include <cmath>

#include "kernels/isa.h"
#include "kernels/reference.h"

#include "kernels/hwy_config.h"  // must precede Highway
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/activation_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Applies vf to whole vectors and sf to the tail.
template <class VFn, class SFn>
HWY_INLINE void Map(const float* x, float* y, int64_t n_elems, VFn vf, SFn sf) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + n <= n_elems; i += n) hn::StoreU(vf(hn::LoadU(df, x + i)), df, y + i);
  for (; i < n_elems; ++i) y[i] = sf(x[i]);
}

template <class VFn, class SFn>
HWY_INLINE void Map2(const float* a, const float* b, float* y, int64_t n_elems, VFn vf, SFn sf) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + n <= n_elems; i += n) {
    hn::StoreU(vf(hn::LoadU(df, a + i), hn::LoadU(df, b + i)), df, y + i);
  }
  for (; i < n_elems; ++i) y[i] = sf(a[i], b[i]);
}

constexpr float kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kGeluCoef = 0.044715f;

HWY_INLINE VF GeluTanhV(VF x) {
  const DF df;
  const VF inner = hn::Mul(hn::Set(df, kSqrt2OverPi),
                           hn::MulAdd(hn::Mul(hn::Set(df, kGeluCoef), hn::Mul(x, x)), x, x));
  const VF half_x = hn::Mul(hn::Set(df, 0.5f), x);
  return hn::MulAdd(half_x, hn::Tanh(df, inner), half_x);
}
HWY_INLINE float GeluTanhS(float x) {
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kGeluCoef * x * x * x)));
}

// 1 + erf(z) = erfc(-z), from Numerical Recipes' erfcc (Chebyshev fit, fractional error below
// 1.2e-7 for every argument): erfc(|z|) = t exp(-z^2 + P(t)), t = 1 / (1 + |z|/2). Using erfc
// keeps GELU's negative tail relatively accurate where 1 + erf(z) cancels.
HWY_INLINE VF OnePlusErfV(VF z) {
  const DF df;
  const VF az = hn::Abs(z);
  const VF t = hn::Div(hn::Set(df, 1.0f), hn::MulAdd(hn::Set(df, 0.5f), az, hn::Set(df, 1.0f)));
  VF p = hn::Set(df, 0.17087277f);
  p = hn::MulAdd(p, t, hn::Set(df, -0.82215223f));
  p = hn::MulAdd(p, t, hn::Set(df, 1.48851587f));
  p = hn::MulAdd(p, t, hn::Set(df, -1.13520398f));
  p = hn::MulAdd(p, t, hn::Set(df, 0.27886807f));
  p = hn::MulAdd(p, t, hn::Set(df, -0.18628806f));
  p = hn::MulAdd(p, t, hn::Set(df, 0.09678418f));
  p = hn::MulAdd(p, t, hn::Set(df, 0.37409196f));
  p = hn::MulAdd(p, t, hn::Set(df, 1.00002368f));
  p = hn::MulAdd(p, t, hn::Set(df, -1.26551223f));
  // exp's valid range ends at -104 and below -88 the result is 0 in f32 anyway.
  const VF arg = hn::Max(hn::Sub(p, hn::Mul(az, az)), hn::Set(df, -100.0f));
  const VF erfc_abs = hn::Mul(t, hn::Exp(df, arg));
  // z < 0: 1 + erf(z) = erfc(|z|); z >= 0: 1 + erf(z) = 2 - erfc(|z|).
  return hn::IfThenElse(hn::Lt(z, hn::Zero(df)), erfc_abs, hn::Sub(hn::Set(df, 2.0f), erfc_abs));
}
HWY_INLINE VF GeluErfV(VF x) {
  const DF df;
  const VF z = hn::Mul(x, hn::Set(df, 0.70710678118654752440f));
  return hn::Mul(hn::Mul(hn::Set(df, 0.5f), x), OnePlusErfV(z));
}
HWY_INLINE float GeluErfS(float x) {
  return 0.5f * x * std::erfc(-x * 0.70710678118654752440f);
}

// x sigmoid(x) with sigmoid from e = exp(-|x|), which never overflows: 1 / (1 + e) for x >= 0,
// e / (1 + e) for x < 0. Accurate to a few ulp everywhere, the far negative tail included.
HWY_INLINE VF SiluV(VF x) {
  const DF df;
  const VF e = hn::Exp(df, hn::Neg(hn::Abs(x)));
  const VF numerator = hn::IfThenElse(hn::Lt(x, hn::Zero(df)), e, hn::Set(df, 1.0f));
  return hn::Mul(x, hn::Div(numerator, hn::Add(hn::Set(df, 1.0f), e)));
}
HWY_INLINE float SiluS(float x) {
  return x / (1.0f + std::exp(-x));
}

void GeluTanh(const float* x, float* y, int64_t n) {
  Map(x, y, n, GeluTanhV, GeluTanhS);
}
void GeluErf(const float* x, float* y, int64_t n) {
  Map(x, y, n, GeluErfV, GeluErfS);
}
void Silu(const float* x, float* y, int64_t n) {
  Map(x, y, n, SiluV, SiluS);
}

void Mul(const float* a, const float* b, float* y, int64_t n) {
  Map2(
      a, b, y, n, [](VF u, VF v) { return hn::Mul(u, v); }, [](float u, float v) { return u * v; });
}
void Add(const float* a, const float* b, float* y, int64_t n) {
  Map2(
      a, b, y, n, [](VF u, VF v) { return hn::Add(u, v); }, [](float u, float v) { return u + v; });
}
void Scale(const float* x, float s, float* y, int64_t n) {
  const VF vs = hn::Set(DF(), s);
  Map(
      x, y, n, [&](VF v) { return hn::Mul(v, vs); }, [&](float v) { return v * s; });
}
void Softcap(const float* x, float cap, float* y, int64_t n) {
  const DF df;
  const VF vcap = hn::Set(df, cap);
  const VF vinv = hn::Set(df, 1.0f / cap);
  Map(
      x, y, n, [&](VF v) { return hn::Mul(vcap, hn::Tanh(df, hn::Mul(v, vinv))); },
      [&](float v) { return cap * std::tanh(v * (1.0f / cap)); });
}

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slmkit::kernels {

HWY_EXPORT(GeluTanh);
HWY_EXPORT(GeluErf);
HWY_EXPORT(Silu);
HWY_EXPORT(Mul);
HWY_EXPORT(Add);
HWY_EXPORT(Scale);
HWY_EXPORT(Softcap);

void gelu_tanh(const float* x, float* y, int64_t n) {
  if (use_scalar()) return ref::gelu_tanh(x, y, n);
  HWY_DYNAMIC_DISPATCH(GeluTanh)(x, y, n);
}
void gelu_erf(const float* x, float* y, int64_t n) {
  if (use_scalar()) return ref::gelu_erf(x, y, n);
  HWY_DYNAMIC_DISPATCH(GeluErf)(x, y, n);
}
void silu(const float* x, float* y, int64_t n) {
  if (use_scalar()) return ref::silu(x, y, n);
  HWY_DYNAMIC_DISPATCH(Silu)(x, y, n);
}
void mul(const float* a, const float* b, float* y, int64_t n) {
  if (use_scalar()) return ref::mul(a, b, y, n);
  HWY_DYNAMIC_DISPATCH(Mul)(a, b, y, n);
}
void add(const float* a, const float* b, float* y, int64_t n) {
  if (use_scalar()) return ref::add(a, b, y, n);
  HWY_DYNAMIC_DISPATCH(Add)(a, b, y, n);
}
void scale(const float* x, float s, float* y, int64_t n) {
  if (use_scalar()) return ref::scale(x, s, y, n);
  HWY_DYNAMIC_DISPATCH(Scale)(x, s, y, n);
}
void softcap(const float* x, float cap, float* y, int64_t n) {
  if (use_scalar()) return ref::softcap(x, cap, y, n);
  HWY_DYNAMIC_DISPATCH(Softcap)(x, cap, y, n);
}

}  // namespace slmkit::kernels
#endif  // HWY_ONCE
