// Importance-weighted quantizers: ggml's quantize_row_<type>_impl, which llama_model_quantize
// reaches when an importance matrix covers the tensor. `qw` holds one weight per column of the
// row (the imatrix means); each element's weight is qw scaled by how large the element is
// against the row (or super-block) RMS, so big weights in busy columns are kept most exactly.
// Step for step as ggml-quants.c (same candidate scales, same float order), because the bytes
// must match llama.cpp's for the same imatrix.
#include "quant/fp_strict.h"  // first: see there

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "quant/rows.h"
#include "quant/scale_search.h"

namespace slmkit::quant {
namespace {

// The legacy types use one sigma over the whole row.
float row_sigma2(const float* x, int64_t n) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  return sum_x2 / static_cast<float>(n);
}

void element_weights(const float* qw, const float* x, float sigma2, int n, float* out) {
  for (int j = 0; j < n; ++j) out[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

float super_block_sum_x2(const float* x) {
  float s = 0;
  for (int j = 0; j < kQK_K; ++j) s += x[j] * x[j];
  return s;
}

void pack_2bit(const uint8_t* levels, uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(levels[j + l] | (levels[j + l + 32] << 2) |
                                           (levels[j + l + 64] << 4) | (levels[j + l + 96] << 6));
    }
  }
}

// Q4_K and Q5_K share everything but the level range and the bit packing.
template <typename Block>
void k_scale_min_impl(const float* x, Block* y, int64_t n_per_row, const float* quant_weights,
                      int nmax, uint8_t* L) {
  const int64_t nb = n_per_row / kQK_K;
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    uint8_t* Lb = L + i * kQK_K;
    uint8_t Ls[kQK_K / 32], Lm[kQK_K / 32];
    float weights[kQK_K], sw[kQK_K / 32], mins[kQK_K / 32], scales[kQK_K / 32];
    const float sigma2 = 2 * super_block_sum_x2(x) / kQK_K;
    for (int j = 0; j < kQK_K / 32; ++j) {
      element_weights(quant_weights + kQK_K * i + 32 * j, x + 32 * j, sigma2, 32, weights + 32 * j);
      float sumw = 0;
      for (int l = 0; l < 32; ++l) sumw += weights[32 * j + l];
      sw[j] = sumw;
    }
    make_qkx2_quants_groups(kQK_K / 32, 32, nmax, x, weights, Lb, scales, mins, -0.9f, 0.05f, 36,
                            false);
    const float d_block = make_qp_quants(kQK_K / 32, 63, scales, Ls, sw);
    const float m_block = make_qp_quants(kQK_K / 32, 63, mins, Lm, sw);
    std::memset(y[i].scales, 0, kKScaleBytes);
    for (int j = 0; j < kQK_K / 32; ++j) {
      // Q5_K clamps to 63; for Q4_K make_qp_quants already keeps levels <= 63.
      set_scale_min_k4(j, std::min<uint8_t>(63, Ls[j]), std::min<uint8_t>(63, Lm[j]), y[i].scales);
    }
    y[i].d = f32_to_f16(d_block);
    y[i].dmin = f32_to_f16(m_block);
    for (int j = 0; j < kQK_K / 32; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, y[i].scales, &sc, &m);
      const float d = f16_to_f32(y[i].d) * sc;
      if (!d) continue;
      const float dm = f16_to_f32(y[i].dmin) * m;
      for (int ii = 0; ii < 32; ++ii) {
        const int l = nearest_int((x[32 * j + ii] + dm) / d);
        Lb[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
      }
    }
  }
}

}  // namespace

namespace {

// Q4_0 and Q5_0 with weights: llama.cpp's make_qx_quants per block (levels in [0, 2 nmax)),
// then the type's packing.
template <typename Block, typename Pack>
void symmetric_weighted(const float* x, Block* y, int64_t n, const float* qw, int nmax, Pack pack) {
  const float sigma2 = row_sigma2(x, n);
  float weight[kQK];
  int8_t L[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float* xb = x + kQK * ib;
    element_weights(qw + kQK * ib, xb, sigma2, kQK, weight);
    const float d = make_qx_quants(kQK, nmax, xb, L, 1, weight);
    y[ib].d = f32_to_f16(d);
    pack(reinterpret_cast<const uint8_t*>(L), y[ib]);
  }
}

// Q4_1 and Q5_1 with weights: llama.cpp's make_qkx2_quants per block (levels in [0, nmax]),
// then the type's packing.
template <typename Block, typename Pack>
void scale_min_weighted(const float* x, Block* y, int64_t n, const float* qw, int nmax, Pack pack) {
  const float sigma2 = row_sigma2(x, n);
  float weight[kQK];
  uint8_t L[kQK], Laux[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float* xb = x + kQK * ib;
    element_weights(qw + kQK * ib, xb, sigma2, kQK, weight);
    float min;
    const float d = make_qkx2_quants(kQK, nmax, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y[ib].d = f32_to_f16(d);
    y[ib].m = f32_to_f16(-min);
    pack(L, y[ib]);
  }
}

template <typename Block>
void pack_4bit(const uint8_t* L, Block& b) {
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
}

template <typename Block>
void pack_5bit_block(const uint8_t* L, Block& b) {
  pack_5bit(L, b.qs, b.qh);
}

}  // namespace

void quantize_row_q4_0_weighted(const float* x, block_q4_0* y, int64_t n, const float* qw) {
  symmetric_weighted(x, y, n, qw, 8, pack_4bit<block_q4_0>);
}

void quantize_row_q4_1_weighted(const float* x, block_q4_1* y, int64_t n, const float* qw) {
  scale_min_weighted(x, y, n, qw, 15, pack_4bit<block_q4_1>);
}

void quantize_row_q5_0_weighted(const float* x, block_q5_0* y, int64_t n, const float* qw) {
  symmetric_weighted(x, y, n, qw, 16, pack_5bit_block<block_q5_0>);
}

void quantize_row_q5_1_weighted(const float* x, block_q5_1* y, int64_t n, const float* qw) {
  scale_min_weighted(x, y, n, qw, 31, pack_5bit_block<block_q5_1>);
}

void quantize_row_q2_k_weighted(const float* x, block_q2_k* y, int64_t n, const float* qw) {
  uint8_t L[kQK_K];
  float mins[kQK_K / 16], scales[kQK_K / 16], sw[kQK_K / 16], weight[kQK_K];
  uint8_t Ls[kQK_K / 16], Lm[kQK_K / 16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    std::fill(sw, sw + kQK_K / 16, 0.0f);
    const float sigma2 = super_block_sum_x2(x) / kQK_K;
    for (int j = 0; j < kQK_K / 16; ++j) {
      element_weights(qw + kQK_K * i + 16 * j, x + 16 * j, sigma2, 16, weight + 16 * j);
      for (int l = 0; l < 16; ++l) sw[j] += weight[16 * j + l];
    }
    make_qkx2_quants_groups(kQK_K / 16, 16, 3, x, weight, L, scales, mins, -0.9f, 0.05f, 36, false);
    float dm = make_qp_quants(kQK_K / 16, 15, scales, Ls, sw);
    float mm = make_qp_quants(kQK_K / 16, 15, mins, Lm, sw);
    y[i].d = f32_to_f16(dm);
    y[i].dmin = f32_to_f16(mm);
    dm = f16_to_f32(y[i].d);
    mm = f16_to_f32(y[i].dmin);
    for (int j = 0; j < kQK_K / 16; ++j)
      y[i].scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
    for (int j = 0; j < kQK_K / 16; ++j) {
      const float d = dm * (y[i].scales[j] & 0xF);
      if (!d) continue;
      const float m = mm * (y[i].scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int((x[16 * j + ii] + m) / d);
        L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
      }
    }
    pack_2bit(L, y[i].qs);
  }
}

void quantize_row_q3_k_weighted(const float* x, block_q3_k* y, int64_t n, const float* qw) {
  int8_t L[kQK_K];
  float scales[kQK_K / 16], weight[kQK_K], sw[kQK_K / 16];
  int8_t Ls[kQK_K / 16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const float sigma2 = 2 * super_block_sum_x2(x) / kQK_K;
    for (int j = 0; j < kQK_K / 16; ++j) {
      element_weights(qw + kQK_K * i + 16 * j, x + 16 * j, sigma2, 16, weight + 16 * j);
      float sumw = 0;
      for (int l = 0; l < 16; ++l) sumw += weight[16 * j + l];
      sw[j] = sumw;
    }
    make_qx_quants_groups(kQK_K / 16, 16, 4, x, L, scales, weight);
    std::memset(y[i].scales, 0, kKScaleBytes);
    const float d_block = make_qx_quants(kQK_K / 16, 32, scales, Ls, 1, sw);
    for (int j = 0; j < kQK_K / 16; ++j) {
      int l = Ls[j];
      if (j < 8) {
        y[i].scales[j] = static_cast<uint8_t>(l & 0xF);
      } else {
        y[i].scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
      }
      l >>= 4;
      y[i].scales[j % 4 + 8] |= static_cast<uint8_t>(l << (2 * (j / 4)));
    }
    y[i].d = f32_to_f16(d_block);
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sc = j < 8 ? y[i].scales[j] & 0xF : y[i].scales[j - 8] >> 4;
      sc = (sc | (((y[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
      const float d = f16_to_f32(y[i].d) * static_cast<float>(sc);
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
      }
    }
    std::memset(y[i].hmask, 0, kQK_K / 8);
    // High bit of the first 8 x 32 levels in bit 0 of hmask[0..31], the next in bit 1, ...
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < kQK_K; ++j) {
      if (L[j] > 3) {
        y[i].hmask[m] |= hm;
        L[j] = static_cast<int8_t>(L[j] - 4);
      }
      if (++m == kQK_K / 8) {
        m = 0;
        hm = static_cast<uint8_t>(hm << 1);
      }
    }
    pack_2bit(reinterpret_cast<const uint8_t*>(L), y[i].qs);
  }
}

void quantize_row_q4_k_weighted(const float* x, block_q4_k* y, int64_t n, const float* qw) {
  std::vector<uint8_t> L(static_cast<size_t>(n));
  k_scale_min_impl(x, y, n, qw, 15, L.data());
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* Lb = L.data() + i * kQK_K;
    uint8_t* q = y[i].qs;
    for (int j = 0; j < kQK_K; j += 64) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(Lb[j + l] | (Lb[j + l + 32] << 4));
      q += 32;
    }
  }
}

void quantize_row_q5_k_weighted(const float* x, block_q5_k* y, int64_t n, const float* qw) {
  std::vector<uint8_t> L(static_cast<size_t>(n));
  k_scale_min_impl(x, y, n, qw, 31, L.data());
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* Lb = L.data() + i * kQK_K;
    uint8_t* qh = y[i].qh;
    uint8_t* ql = y[i].qs;
    std::memset(qh, 0, kQK_K / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int nn = 0; nn < kQK_K; nn += 64) {
      for (int j = 0; j < 32; ++j) {
        int l1 = Lb[nn + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] |= m1;
        }
        int l2 = Lb[nn + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] |= m2;
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
      ql += 32;
    }
  }
}

void quantize_row_q6_k_weighted(const float* x, block_q6_k* y, int64_t n, const float* qw) {
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    // Q6_K takes the imatrix means as they are (ggml left the sigma weighting commented out).
    make_qx_quants_groups(kQK_K / 16, 16, 32, x, L, scales, qw + kQK_K * i);
    const float max_scale = signed_absmax(scales, kQK_K / 16);
    if (std::fabs(max_scale) < kGroupMaxEps) {
      std::memset(&y[i], 0, sizeof(block_q6_k));
      y[i].d = f32_to_f16(0.f);
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[i].d = f32_to_f16(1 / iscale);
    for (int ib = 0; ib < kQK_K / 16; ++ib) {
      y[i].scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      const float d = f16_to_f32(y[i].d) * y[i].scales[j];
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
      }
    }
    uint8_t* ql = y[i].ql;
    uint8_t* qh = y[i].qh;
    for (int j = 0; j < kQK_K; j += 128) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l + 0] & 0xF;
        const uint8_t q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF;
        const uint8_t q4 = L[j + l + 96] & 0xF;
        ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                     ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }
  }
}

}  // namespace slmkit::quant
