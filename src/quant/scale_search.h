// Scale searches shared by the K-quants: given a group of floats, pick integer levels and a scale
// (and for the asymmetric types a minimum) that reconstruct the group well. They follow ggml's
// searches step for step (same candidate scales, same weights, same tie rules), because their
// results are the bytes we must match.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace slmkit::quant {

// Groups whose largest magnitude is below this are all zero.
inline constexpr float kGroupMaxEps = 1e-15f;

// The value of largest magnitude, with its sign (the first one on ties); its |.| is the amax.
inline float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// Round to nearest with ties to even, for |v| < 2^22, by letting the float adder do it: adding
// 1.5 * 2^23 pushes the fraction out of the mantissa.
inline int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// Symmetric levels in [0, 2 * nmax) (stored with +nmax offset); returns the scale. rmse_type 1
// weights each element by x^2 (or by `weights` when given) and tries 18 scales around the first.
float make_qx_quants(int n, int nmax, const float* x, int8_t* levels, int rmse_type,
                     const float* weights);

// make_qx_quants(n, nmax, x, levels, 1, weights) for n_groups consecutive groups of n <= 32
// elements (weights: null, or n per group), scales[g] each: the same bytes, 8 groups searched side
// by side (see make_qkx2_quants_groups).
void make_qx_quants_groups(int n_groups, int n, int nmax, const float* x, int8_t* levels,
                           float* scales, const float* weights);

// Symmetric levels for Q3_K, optionally refined element by element; levels get +nmax offset.
float make_q3_quants(int n, int nmax, const float* x, int8_t* levels, bool do_rmse);

// Asymmetric levels in [0, nmax] with a minimum: x ~ scale * level - *neg_min. Tries nstep + 1
// candidate scales (rmin + rdelta * is + nmax) / (max - min) and keeps the best weighted error
// (absolute with use_mad, squared otherwise). `scratch` holds n bytes.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* levels,
                       float* neg_min, uint8_t* scratch, float rmin, float rdelta, int nstep,
                       bool use_mad);

// make_qkx2_quants for n_groups consecutive groups of n <= 32 elements (x, weights and levels
// advance by n per group), with each group's scale in scales[g] and its -min in neg_mins[g]: the
// same bytes as one call per group, faster. The groups are searched side by side, 8 at a time,
// each group's sums added in make_qkx2_quants' order, so the dependent float additions of 8 groups
// overlap (and vectorize) instead of waiting on one another.
void make_qkx2_quants_groups(int n_groups, int n, int nmax, const float* x, const float* weights,
                             uint8_t* levels, float* scales, float* neg_mins, float rmin,
                             float rdelta, int nstep, bool use_mad);

// ggml's make_qkx3_quants (the importance-weighted paths) is make_qkx2_quants whenever weights
// are given, which they always are there, so it has no copy of its own.

// Non-negative levels in [0, nmax] for a group of scales or mins, weighted by `weights`: the
// best of 9 candidate scales, then up to 5 passes moving single levels (ggml's make_qp_quants).
float make_qp_quants(int n, int nmax, const float* x, uint8_t* levels, const float* weights);

// Q4_K / Q5_K pack 8 6-bit scales and 8 6-bit mins into 12 bytes.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

inline void set_scale_min_k4(int j, uint8_t ls, uint8_t lm, uint8_t* q) {
  if (j < 4) {
    q[j] = ls;
    q[j + 4] = lm;
  } else {
    q[j + 4] = static_cast<uint8_t>((ls & 0xf) | ((lm & 0xf) << 4));
    q[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
    q[j] |= static_cast<uint8_t>((lm >> 4) << 6);
  }
}

}  // namespace slmkit::quant
