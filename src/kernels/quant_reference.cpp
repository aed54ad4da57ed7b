// Plain C++ dot products of quantized weight rows with quantized activation rows, one per type,
// following ggml's generic (non-SIMD) vec_dot functions: the same integer sums per block and
// sub-block, so the values agree with llama.cpp's up to the float summation of the blocks, which
// here is done in double. Blocks are copied out with memcpy: rows need no alignment.
#include <cstring>

#include "core/fail.h"
#include "core/half.h"
#include "kernels/quant_kernels.h"
#include "kernels/quant_reference.h"
#include "kernels/weight_types.h"
#include "quant/blocks.h"

namespace slmkit::kernels::ref {
namespace {

using namespace slmkit::quant;

template <class B>
B block_at(const std::byte* p, int64_t i) {
  B b;
  std::memcpy(&b, p + i * static_cast<int64_t>(sizeof(B)), sizeof(B));
  return b;
}

double h(uint16_t bits) {
  return static_cast<double>(f16_to_f32(bits));
}

double sum_q4_0(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q4_0>(w, i);
    const auto y = block_at<block_q8_0>(a, i);
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi += ((x.qs[j] & 0x0F) - 8) * y.qs[j] + ((x.qs[j] >> 4) - 8) * y.qs[j + kQK / 2];
    }
    sum += h(x.d) * h(y.d) * sumi;
  }
  return sum;
}

double sum_q4_1(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q4_1>(w, i);
    const auto y = block_at<block_q8_1>(a, i);
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi += (x.qs[j] & 0x0F) * y.qs[j] + (x.qs[j] >> 4) * y.qs[j + kQK / 2];
    }
    sum += h(x.d) * h(y.d) * sumi + h(x.m) * h(y.s);
  }
  return sum;
}

// Element j's fifth bit (0 or 16) from the little-endian word qh.
int fifth_bit(const uint8_t qh[4], int j) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  return static_cast<int>((bits >> j) & 1u) << 4;
}

double sum_q5_0(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q5_0>(w, i);
    const auto y = block_at<block_q8_0>(a, i);
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = ((x.qs[j] & 0x0F) | fifth_bit(x.qh, j)) - 16;
      const int hi = ((x.qs[j] >> 4) | fifth_bit(x.qh, j + 16)) - 16;
      sumi += lo * y.qs[j] + hi * y.qs[j + kQK / 2];
    }
    sum += h(x.d) * h(y.d) * sumi;
  }
  return sum;
}

double sum_q5_1(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q5_1>(w, i);
    const auto y = block_at<block_q8_1>(a, i);
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (x.qs[j] & 0x0F) | fifth_bit(x.qh, j);
      const int hi = (x.qs[j] >> 4) | fifth_bit(x.qh, j + 16);
      sumi += lo * y.qs[j] + hi * y.qs[j + kQK / 2];
    }
    sum += h(x.d) * h(y.d) * sumi + h(x.m) * h(y.s);
  }
  return sum;
}

double sum_q8_0(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q8_0>(w, i);
    const auto y = block_at<block_q8_0>(a, i);
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x.qs[j] * y.qs[j];
    sum += h(x.d) * h(y.d) * sumi;
  }
  return sum;
}

double sum_q2_k(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q2_k>(w, i);
    const auto y = block_at<block_q8_k>(a, i);
    int mins = 0;
    for (int j = 0; j < kQK_K / 16; ++j) mins += y.bsums[j] * (x.scales[j] >> 4);
    // Element e = 128 k + 32 s + l holds bits 2s..2s+1 of qs[32 k + l]; scale e / 16.
    int isum = 0;
    for (int e = 0; e < kQK_K; ++e) {
      const int k = e / 128, s = (e % 128) / 32, l = e % 32;
      const int q = (x.qs[32 * k + l] >> (2 * s)) & 3;
      isum += (x.scales[e / 16] & 0x0F) * q * y.qs[e];
    }
    sum += y.d * (h(x.d) * isum - h(x.dmin) * mins);
  }
  return sum;
}

// Scale j (0..15) of a Q3_K block: 4 low bits, then 2 high bits packed four to a byte; offset 32.
int q3_k_scale(const uint8_t* sc, int j) {
  const int lo = j < 8 ? (sc[j] & 0x0F) : (sc[j - 8] >> 4);
  const int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}

double sum_q3_k(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q3_k>(w, i);
    const auto y = block_at<block_q8_k>(a, i);
    // Element e = 128 k + 32 s + l: 2 low bits at bits 2s of qs[32 k + l]; its high bit is bit
    // (4 k + s) of hmask[l], and a clear high bit means minus 4.
    int isum = 0;
    for (int e = 0; e < kQK_K; ++e) {
      const int k = e / 128, s = (e % 128) / 32, l = e % 32;
      const int lo = (x.qs[32 * k + l] >> (2 * s)) & 3;
      const int q = lo - (((x.hmask[l] >> (4 * k + s)) & 1) ? 0 : 4);
      isum += q3_k_scale(x.scales, e / 16) * q * y.qs[e];
    }
    sum += h(x.d) * y.d * isum;
  }
  return sum;
}

// Scale and min j (0..7) of a Q4_K / Q5_K block (ggml's get_scale_min_k4).
void k4_scale_min(const uint8_t* q, int j, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K and Q5_K: element e = 64 k + 32 half + l is the low (half 0) or high nibble of
// qs[32 k + l], sub-block s = e / 32; Q5_K adds 16 where bit s of qh[l] is set.
template <bool kFive, class B>
double sum_q45_k(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<B>(w, i);
    const auto y = block_at<block_q8_k>(a, i);
    int isum = 0, mins = 0;
    for (int s = 0; s < 8; ++s) {
      int scale, min;
      k4_scale_min(x.scales, s, scale, min);
      mins += min * (y.bsums[2 * s] + y.bsums[2 * s + 1]);
      int sub = 0;
      for (int l = 0; l < 32; ++l) {
        const uint8_t byte = x.qs[32 * (s / 2) + l];
        int q = (s % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
        if constexpr (kFive) q += ((x.qh[l] >> s) & 1) << 4;
        sub += q * y.qs[32 * s + l];
      }
      isum += scale * sub;
    }
    sum += y.d * (h(x.d) * isum - h(x.dmin) * mins);
  }
  return sum;
}

double sum_q6_k(const std::byte* w, const std::byte* a, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = block_at<block_q6_k>(w, i);
    const auto y = block_at<block_q8_k>(a, i);
    // Element e = 128 k + 32 s + l: low nibble of ql[64 k + l] (s = 0), of ql[64 k + 32 + l]
    // (s = 1), their high nibbles (s = 2, 3); high 2 bits at bits 2s of qh[32 k + l]; offset 32.
    int isum = 0;
    for (int e = 0; e < kQK_K; ++e) {
      const int k = e / 128, s = (e % 128) / 32, l = e % 32;
      const uint8_t lbyte = x.ql[64 * k + 32 * (s % 2) + l];
      const int lo = s < 2 ? (lbyte & 0x0F) : (lbyte >> 4);
      const int hi = (x.qh[32 * k + l] >> (2 * s)) & 3;
      isum += x.scales[e / 16] * ((lo | (hi << 4)) - 32) * y.qs[e];
    }
    sum += h(x.d) * y.d * isum;
  }
  return sum;
}

template <class Block, double (*Sum)(const std::byte*, const std::byte*, int64_t)>
float dot(const std::byte* w, const std::byte* act, int64_t n) {
  return static_cast<float>(Sum(w, act, n / Block::kElements));
}

}  // namespace

float dot_q4_0(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q4_0, sum_q4_0>(w, act, n);
}
float dot_q4_1(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q4_1, sum_q4_1>(w, act, n);
}
float dot_q5_0(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q5_0, sum_q5_0>(w, act, n);
}
float dot_q5_1(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q5_1, sum_q5_1>(w, act, n);
}
float dot_q8_0(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q8_0, sum_q8_0>(w, act, n);
}
float dot_q2_k(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q2_k, sum_q2_k>(w, act, n);
}
float dot_q3_k(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q3_k, sum_q3_k>(w, act, n);
}
float dot_q4_k(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q4_k, sum_q45_k<false, block_q4_k>>(w, act, n);
}
float dot_q5_k(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q5_k, sum_q45_k<true, block_q5_k>>(w, act, n);
}
float dot_q6_k(const std::byte* w, const std::byte* act, int64_t n) {
  return dot<block_q6_k, sum_q6_k>(w, act, n);
}

namespace {

RowDotFn dot_of(DType w_type) {
  const WeightKernels* k = find_weight_kernels(w_type);
  if (!k || !k->reference_dot) {
    fail_unsupported("kernels: no quantized dot product for weight type {}", dtype_name(w_type));
  }
  return k->reference_dot;
}

}  // namespace

float quant_dot(DType w_type, const std::byte* w, const std::byte* act, int64_t n) {
  return dot_of(w_type)(w, act, n);
}

void quant_matmul(const MatrixRef& w, const std::byte* act, int64_t act_stride_bytes,
                  int64_t n_tokens, float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  const RowDotFn dot_row = dot_of(w.dtype);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      y[t * y_stride + r] = dot_row(w.row(r), act + t * act_stride_bytes, w.cols);
    }
  }
}

}  // namespace slmkit::kernels::ref
