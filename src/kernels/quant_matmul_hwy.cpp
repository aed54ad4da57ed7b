// SIMD dot products of quantized weight rows with quantized activation rows (quant_kernels.h),
// compiled per Highway target. Every weight block is unpacked into 8-bit integers 32 at a time and
// multiplied with the activation bytes in integer arithmetic; one float multiply-add per block
// (legacy types) or per 256-element super-block (K-quants, whose sub-block scales are applied as
// 16-bit integer factors) accumulates into float lanes, summed once per row.
//
// The pieces, one concern each (Highway's per-target -inl.h files):
//   quant_simd_x86-inl.h       primitives on 256-bit x86 intrinsics (AVX2, AVX-512, VNNI)
//   quant_simd_portable-inl.h  the same primitives in portable Highway code (every other target)
//   quant_blocks_legacy-inl.h  block kernels of Q8_0, Q4_0, Q5_0, Q4_1, Q5_1
//   quant_blocks_k-inl.h       block kernels of Q2_K .. Q6_K
//   quant_tiles-inl.h          rows x tokens tiling for any block kernel
//   quant_packed_x86-inl.h     kernels over repacked layouts (8 rows interleaved, on x86)
// This file lists the kernels and dispatches on the weight type. HWY_SCALAR (one-lane vectors)
// runs the scalar references.
#include "kernels/isa.h"
#include "kernels/packed_layouts.h"
#include "kernels/quant_kernels.h"

#include "kernels/hwy_config.h"  // must precede Highway
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quant_matmul_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

// In this order: primitives, block kernels, tiling, packed kernels.
#include "kernels/quant_simd_portable-inl.h"
#include "kernels/quant_simd_x86-inl.h"

#include "kernels/quant_blocks_k-inl.h"
#include "kernels/quant_blocks_legacy-inl.h"

#include "kernels/quant_tiles-inl.h"

#include "kernels/quant_packed_x86-inl.h"

HWY_BEFORE_NAMESPACE();
namespace slmkit::kernels {
namespace HWY_NAMESPACE {

#if HWY_TARGET != HWY_SCALAR

// The block kernel of every quantized weight type.
using BlockKernels =
    KernelList<KQ8_0, KQ4_0, KQ5_0, KQ4_1, KQ5_1, KQ2_K, KQ3_K, KQ4_K, KQ5_K, KQ6_K>;

template <class... K>
HWY_INLINE bool MatmulBlocks(KernelList<K...>, const MatrixRef& w, const std::byte* act,
                             int64_t act_stride, int64_t n_tokens, float* y, int64_t y_stride,
                             int64_t r0, int64_t r1) {
  return ((w.dtype == K::kType &&
           (MatmulK<K>(w, act, act_stride, n_tokens, y, y_stride, r0, r1), true)) ||
          ...);
}

// A target without packed layouts has an empty list: its parameters go unused there (GCC warns).
template <class... K>
HWY_INLINE bool MatmulPacked(KernelList<K...>, [[maybe_unused]] const MatrixRef& w,
                             [[maybe_unused]] const std::byte* act,
                             [[maybe_unused]] int64_t act_stride, [[maybe_unused]] int64_t n_tokens,
                             [[maybe_unused]] float* y, [[maybe_unused]] int64_t y_stride,
                             [[maybe_unused]] int64_t r0, [[maybe_unused]] int64_t r1) {
  return ((w.dtype == K::kType &&
           (PackedMatmul<K>(w, act, act_stride, n_tokens, y, y_stride, r0, r1), true)) ||
          ...);
}

template <class... K>
HWY_INLINE bool Lists(KernelList<K...>, [[maybe_unused]] DType type) {
  return ((type == K::kType) || ...);
}

bool HasPackedKernel(DType type) {
  return Lists(PackedKernels{}, type);
}

void QuantMatmul(const MatrixRef& w, const std::byte* act, int64_t act_stride, int64_t n_tokens,
                 float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  if (w.packed &&
      MatmulPacked(PackedKernels{}, w, act, act_stride, n_tokens, y, y_stride, r0, r1)) {
    return;
  }
  if (MatmulBlocks(BlockKernels{}, w, act, act_stride, n_tokens, y, y_stride, r0, r1)) return;
  ref::quant_matmul(w, act, act_stride, n_tokens, y, y_stride, r0, r1);  // throws
}

#else  // HWY_SCALAR: the references

bool HasPackedKernel(DType) {
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
HWY_EXPORT(HasPackedKernel);

bool has_packed_kernel(DType type) {
  if (type == DType::F16 || type == DType::BF16) return has_packed_f16_kernel();
  return !use_scalar() && HWY_DYNAMIC_DISPATCH(HasPackedKernel)(type);
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
