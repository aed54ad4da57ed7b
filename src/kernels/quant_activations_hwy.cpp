// Activation rows quantized to Q8_0, Q8_1 and Q8_K blocks, compiled per Highway target: the same
// float operations as the scalar quantizers of quant_activations.cpp (Q8_0/Q8_1: llama.cpp's x86
// rounding) and quant/rows_k.cpp (Q8_K: ggml's reference), one vector at a time, so every byte
// matches theirs (quant_activations_test compares them on every ISA). Scalar, the Q8_K quantizer
// took 10% of distilgpt2 Q4_K_M's pp128 (1 thread).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/half.h"
#include "kernels/isa.h"
#include "kernels/quant_activations.h"
#include "quant/blocks.h"

#include "kernels/hwy_config.h"  // must precede Highway
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quant_activations_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using D8 = hn::Rebind<int8_t, DF>;
// A sum per 16 of Q8_K is whole vectors: no target built has more than 16 float lanes.
static_assert(HWY_MAX_BYTES / sizeof(float) <= 16);

HWY_INLINE float MaxAbs(const float* x, int n) {
  const DF df;
  const int N = static_cast<int>(hn::Lanes(df));
  auto m = hn::Zero(df);
  for (int i = 0; i < n; i += N) m = hn::Max(m, hn::Abs(hn::LoadU(df, x + i)));
  return hn::GetLane(hn::MaxOfLanes(df, m));
}

// Q8_0 / Q8_1: d = amax / 127 as f16, q = round_even(x * (127 / amax)) by the 1.5 * 2^23 adder;
// Q8_1 also stores f16(d * sum(q)).
template <class B>
void QuantizeQ8Legacy(const float* x, int64_t n, void* out) {
  const DF df;
  const DI di;
  const D8 d8;
  const int N = static_cast<int>(hn::Lanes(df));
  auto* bytes = static_cast<std::byte*>(out);
  const auto magic = hn::Set(df, 12582912.0f);
  for (int64_t i = 0; i < n / B::kElements; ++i, x += B::kElements) {
    const float amax = MaxAbs(x, B::kElements);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int8_t q[B::kElements];
    auto sum = hn::Zero(di);
    for (int j = 0; j < B::kElements; j += N) {
      const auto v = hn::Mul(hn::LoadU(df, x + j), hn::Set(df, id));
      const auto qi = hn::ConvertTo(di, hn::Sub(hn::Add(v, magic), magic));
      sum = hn::Add(sum, qi);
      hn::StoreU(hn::DemoteTo(d8, qi), d8, q + j);
    }
    std::byte* blk = bytes + i * static_cast<int64_t>(sizeof(B));
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(blk + offsetof(B, d), &dh, 2);
    if constexpr (std::is_same_v<B, quant::block_q8_1>) {
      const int s = hn::GetLane(hn::SumOfLanes(di, sum));
      const uint16_t sh = f32_to_f16(d * static_cast<float>(s));
      std::memcpy(blk + offsetof(B, s), &sh, 2);
    }
    std::memcpy(blk + offsetof(B, qs), q, sizeof(q));
  }
}

void QuantizeQ8_0(const float* x, int64_t n, void* out) {
  QuantizeQ8Legacy<quant::block_q8_0>(x, n, out);
}
void QuantizeQ8_1(const float* x, int64_t n, void* out) {
  QuantizeQ8Legacy<quant::block_q8_1>(x, n, out);
}

// Q8_K: max = the first element of largest magnitude, iscale = -127 / max, q = min(127,
// nearest_int(iscale x)), sums per 16, d = 1 / iscale; an all-zero block is all zeros.
void QuantizeQ8_K(const float* x, int64_t n, void* out) {
  using quant::block_q8_k;
  constexpr int kQK = block_q8_k::kElements;
  const DF df;
  const DI di;
  const D8 d8;
  const int N = static_cast<int>(hn::Lanes(df));
  auto* bytes = static_cast<std::byte*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    block_q8_k b{};
    const float amax = MaxAbs(x, kQK);
    if (amax != 0.0f) {
      float max = 0.0f;
      for (int j = 0; j < kQK; j += N) {
        const auto hit = hn::Eq(hn::Abs(hn::LoadU(df, x + j)), hn::Set(df, amax));
        if (!hn::AllFalse(df, hit)) {
          max = x[j + hn::FindFirstTrue(df, hit)];
          break;
        }
      }
      const float iscale = -127.0f / max;
      const auto magic = hn::Set(df, 12582912.0f);
      const auto mantissa = hn::Set(di, 0x007fffff), half = hn::Set(di, 0x00400000);
      const auto top = hn::Set(di, 127);
      for (int g = 0; g < kQK / 16; ++g) {
        auto sum = hn::Zero(di);
        for (int j = 16 * g; j < 16 * g + 16; j += N) {
          const auto v = hn::Add(hn::Mul(hn::Set(df, iscale), hn::LoadU(df, x + j)), magic);
          const auto qi = hn::Min(hn::Sub(hn::And(hn::BitCast(di, v), mantissa), half), top);
          sum = hn::Add(sum, qi);
          hn::StoreU(hn::DemoteTo(d8, qi), d8, b.qs + j);
        }
        b.bsums[g] = static_cast<int16_t>(hn::GetLane(hn::SumOfLanes(di, sum)));
      }
      b.d = 1 / iscale;
    }
    std::memcpy(bytes + i * static_cast<int64_t>(sizeof(b)), &b, sizeof(b));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace slmkit::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slmkit::kernels {

HWY_EXPORT(QuantizeQ8_0);
HWY_EXPORT(QuantizeQ8_1);
HWY_EXPORT(QuantizeQ8_K);

void quantize_q8_0(const float* x, int64_t n, void* out) {
  if (use_scalar()) return ref::quantize_q8_0(x, n, out);
  HWY_DYNAMIC_DISPATCH(QuantizeQ8_0)(x, n, out);
}
void quantize_q8_1(const float* x, int64_t n, void* out) {
  if (use_scalar()) return ref::quantize_q8_1(x, n, out);
  HWY_DYNAMIC_DISPATCH(QuantizeQ8_1)(x, n, out);
}
void quantize_q8_k(const float* x, int64_t n, void* out) {
  if (use_scalar()) return ref::quantize_q8_k(x, n, out);
  HWY_DYNAMIC_DISPATCH(QuantizeQ8_K)(x, n, out);
}

}  // namespace slmkit::kernels
#endif  // HWY_ONCE
