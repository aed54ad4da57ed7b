#include "quant/fp_strict.h"  // first: see there

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/fail.h"
#include "quant/scale_search.h"

namespace slmkit::quant {
namespace {

float element_weight(const float* weights, int rmse_type, int i, float x) {
  if (weights) return weights[i];
  switch (rmse_type) {
    case 1:
      return x * x;
    case 2:
      return 1.0f;
    case 3:
      return std::fabs(x);
    default:
      return std::sqrt(std::fabs(x));
  }
}

int clamp_sym(int l, int nmax) {
  return std::max(-nmax, std::min(nmax - 1, l));
}

}  // namespace

float make_qx_quants(int n, int nmax, const float* x, int8_t* levels, int rmse_type,
                     const float* weights) {
  const float max = signed_absmax(x, n);
  const float amax = std::fabs(max);
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, int8_t{0});
    return 0.f;
  }
  float iscale = static_cast<float>(-nmax) / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i)
      levels[i] = static_cast<int8_t>(nmax + clamp_sym(nearest_int(iscale * x[i]), nmax));
    return 1 / iscale;
  }
  bool return_early = false;
  if (rmse_type < 0) {
    rmse_type = -rmse_type;
    return_early = true;
  }
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_sym(nearest_int(iscale * x[i]), nmax);
    levels[i] = static_cast<int8_t>(l + nmax);
    const float w = element_weight(weights, rmse_type, i, x[i]);
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_sym(nearest_int(iscale * x[i]), nmax);
      const float w = element_weight(weights, rmse_type, i, x[i]);
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        levels[i] = static_cast<int8_t>(nmax + clamp_sym(nearest_int(iscale * x[i]), nmax));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float make_q3_quants(int n, int nmax, const float* x, int8_t* levels, bool do_rmse) {
  const float max = signed_absmax(x, n);
  const float amax = std::fabs(max);
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, int8_t{0});
    return 0.f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  if (do_rmse) {
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_sym(nearest_int(iscale * x[i]), nmax);
      levels[i] = static_cast<int8_t>(l);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    for (int itry = 0; itry < 5; ++itry) {
      int n_changed = 0;
      for (int i = 0; i < n; ++i) {
        const float w = x[i] * x[i];
        const float li = static_cast<float>(levels[i]);
        float slx = sumlx - w * x[i] * li;
        if (slx > 0) {
          float sl2 = suml2 - w * li * li;
          const int new_l = clamp_sym(nearest_int(x[i] * sl2 / slx), nmax);
          if (new_l != levels[i]) {
            slx += w * x[i] * static_cast<float>(new_l);
            sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
              levels[i] = static_cast<int8_t>(new_l);
              sumlx = slx;
              suml2 = sl2;
              ++n_changed;
            }
          }
        }
      }
      if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) levels[i] = static_cast<int8_t>(levels[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
  }
  for (int i = 0; i < n; ++i)
    levels[i] = static_cast<int8_t>(clamp_sym(nearest_int(iscale * x[i]), nmax) + nmax);
  return 1 / iscale;
}

float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* levels,
                       float* neg_min, uint8_t* scratch, float rmin, float rdelta, int nstep,
                       bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(levels, levels + n, uint8_t{0});
    *neg_min = -min;
    return 0.f;
  }
  const float fmax = static_cast<float>(nmax);
  auto level = [&](float iscale, int i) {
    return static_cast<uint8_t>(std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min)))));
  };
  auto error_of = [&](float diff) { return use_mad ? std::fabs(diff) : diff * diff; };
  float iscale = fmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    levels[i] = level(iscale, i);
    const float diff = scale * static_cast<float>(levels[i]) + min - x[i];
    best_error += weights[i] * error_of(diff);
  }
  if (nstep < 1) {
    *neg_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + fmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const uint8_t l = level(iscale, i);
      scratch[i] = l;
      const float w = weights[i];
      const float fl = static_cast<float>(l);
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * static_cast<float>(scratch[i]) + this_min - x[i];
        cur_error += weights[i] * error_of(diff);
      }
      if (cur_error < best_error) {
        std::copy(scratch, scratch + n, levels);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

namespace {

// The groups make_qkx2_quants_groups searches at once, element-major: v[i][b] is element i of
// group b.
constexpr int kLanes = 8;
constexpr int kMaxGroup = 32;
using Lanes = float[kLanes];

// Up to kLanes groups (lanes past n_groups repeat the last group and are not written back).
void qkx2_lanes(int n_groups, int n, int nmax, const float* x, const float* weights,
                uint8_t* levels, float* scales, float* neg_mins, float rmin, float rdelta,
                int nstep, bool use_mad) {
  float xv[kMaxGroup][kLanes], wv[kMaxGroup][kLanes];
  float lv[kMaxGroup][kLanes], sv[kMaxGroup][kLanes];  // levels (best, this step) as floats
  for (int b = 0; b < kLanes; ++b) {
    const int g = std::min(b, n_groups - 1);
    for (int i = 0; i < n; ++i) {
      xv[i][b] = x[g * n + i];
      wv[i][b] = weights[g * n + i];
    }
  }
  Lanes min, max, sum_w, sum_x;
  for (int b = 0; b < kLanes; ++b) {
    min[b] = max[b] = xv[0][b];
    sum_w[b] = wv[0][b];
    sum_x[b] = sum_w[b] * xv[0][b];
  }
  for (int i = 1; i < n; ++i) {
    for (int b = 0; b < kLanes; ++b) {
      min[b] = xv[i][b] < min[b] ? xv[i][b] : min[b];
      max[b] = xv[i][b] > max[b] ? xv[i][b] : max[b];
      sum_w[b] += wv[i][b];
      sum_x[b] += wv[i][b] * xv[i][b];
    }
  }
  const float fmax = static_cast<float>(nmax);
  const float fzero = 0.0f;
  // make_qkx2_quants' level(): nearest_int of iscale * (x - min), clamped to [0, nmax]; written
  // out (nearest_int's float addition, the clamp on the exact integer's float) so it vectorizes.
  auto levels_of = [&](const Lanes& iscale, float(*out)[kLanes]) {
    for (int i = 0; i < n; ++i) {
      for (int b = 0; b < kLanes; ++b) {
        const float shifted = iscale[b] * (xv[i][b] - min[b]) + 12582912.f;
        const int32_t l = (std::bit_cast<int32_t>(shifted) & 0x007fffff) - 0x00400000;
        out[i][b] = std::min(std::max(static_cast<float>(l), 0.f), fmax);
      }
    }
  };
  auto error_of = [&](const Lanes& scale, const Lanes& mn, float(*l)[kLanes], Lanes& err) {
    for (int b = 0; b < kLanes; ++b) err[b] = 0;
    for (int i = 0; i < n; ++i) {
      for (int b = 0; b < kLanes; ++b) {
        const float diff = scale[b] * l[i][b] + mn[b] - xv[i][b];
        err[b] += wv[i][b] * (use_mad ? std::fabs(diff) : diff * diff);
      }
    }
  };
  bool flat[kLanes];
  Lanes iscale, scale, best_error;
  for (int b = 0; b < kLanes; ++b) {
    if (min[b] > 0) min[b] = 0;
    flat[b] = max[b] == min[b];
    iscale[b] = flat[b] ? fzero : fmax / (max[b] - min[b]);
    scale[b] = flat[b] ? fzero : 1 / iscale[b];
  }
  levels_of(iscale, lv);
  error_of(scale, min, lv, best_error);
  if (nstep >= 1) {
    Lanes sum_l, sum_l2, sum_xl, this_scale, this_min, cur_error;
    for (int is = 0; is <= nstep; ++is) {
      const float num = rmin + rdelta * static_cast<float>(is) + fmax;
      for (int b = 0; b < kLanes; ++b) iscale[b] = flat[b] ? fzero : num / (max[b] - min[b]);
      levels_of(iscale, sv);
      for (int b = 0; b < kLanes; ++b) sum_l[b] = sum_l2[b] = sum_xl[b] = 0;
      for (int i = 0; i < n; ++i) {
        for (int b = 0; b < kLanes; ++b) {
          const float w = wv[i][b], fl = sv[i][b];
          sum_l[b] += w * fl;
          sum_l2[b] += w * fl * fl;
          sum_xl[b] += w * fl * xv[i][b];
        }
      }
      bool any = false;
      bool take[kLanes];
      for (int b = 0; b < kLanes; ++b) {
        const float det = sum_w[b] * sum_l2[b] - sum_l[b] * sum_l[b];
        take[b] = !flat[b] && det > 0;
        any = any || take[b];
        this_scale[b] = take[b] ? (sum_w[b] * sum_xl[b] - sum_x[b] * sum_l[b]) / det : fzero;
        this_min[b] = take[b] ? (sum_l2[b] * sum_x[b] - sum_l[b] * sum_xl[b]) / det : fzero;
        if (take[b] && this_min[b] > 0) {
          this_min[b] = 0;
          this_scale[b] = sum_xl[b] / sum_l2[b];
        }
      }
      if (!any) continue;
      error_of(this_scale, this_min, sv, cur_error);
      for (int b = 0; b < kLanes; ++b) {
        if (!take[b] || !(cur_error[b] < best_error[b])) continue;
        for (int i = 0; i < n; ++i) lv[i][b] = sv[i][b];
        best_error[b] = cur_error[b];
        scale[b] = this_scale[b];
        min[b] = this_min[b];
      }
    }
  }
  for (int g = 0; g < n_groups; ++g) {
    for (int i = 0; i < n; ++i) {
      levels[g * n + i] = flat[g] ? uint8_t{0} : static_cast<uint8_t>(lv[i][g]);
    }
    scales[g] = flat[g] ? 0.f : scale[g];
    neg_mins[g] = -min[g];
  }
}

// make_qx_quants(n, nmax, x, levels, 1, weights) for up to kLanes groups, as qkx2_lanes does.
void qx_lanes(int n_groups, int n, int nmax, const float* x, const float* weights, int8_t* levels,
              float* scales) {
  float xv[kMaxGroup][kLanes], wv[kMaxGroup][kLanes];
  float lv[kMaxGroup][kLanes], sv[kMaxGroup][kLanes];  // levels (best, this step), signed
  Lanes max, scale, best, sumlx, suml2;
  bool zero[kLanes];
  for (int b = 0; b < kLanes; ++b) {
    const int g = std::min(b, n_groups - 1);
    for (int i = 0; i < n; ++i) {
      xv[i][b] = x[g * n + i];
      wv[i][b] = weights ? weights[g * n + i] : xv[i][b] * xv[i][b];
    }
    max[b] = signed_absmax(x + g * n, n);
    zero[b] = std::fabs(max[b]) < kGroupMaxEps;
  }
  const float lo = static_cast<float>(-nmax), hi = static_cast<float>(nmax - 1);
  // clamp_sym(nearest_int(iscale * x), nmax), written out so it vectorizes; and the two sums.
  auto step = [&](const Lanes& iscale, float(*out)[kLanes]) {
    for (int b = 0; b < kLanes; ++b) sumlx[b] = suml2[b] = 0;
    for (int i = 0; i < n; ++i) {
      for (int b = 0; b < kLanes; ++b) {
        const float shifted = iscale[b] * xv[i][b] + 12582912.f;
        const int32_t l = (std::bit_cast<int32_t>(shifted) & 0x007fffff) - 0x00400000;
        const float fl = std::min(std::max(static_cast<float>(l), lo), hi);
        out[i][b] = fl;
        sumlx[b] += wv[i][b] * xv[i][b] * fl;
        suml2[b] += wv[i][b] * fl * fl;
      }
    }
  };
  Lanes iscale;
  for (int b = 0; b < kLanes; ++b) iscale[b] = zero[b] ? 0.f : static_cast<float>(-nmax) / max[b];
  step(iscale, lv);
  for (int b = 0; b < kLanes; ++b) {
    scale[b] = suml2[b] != 0.0f ? sumlx[b] / suml2[b] : 0.0f;
    best[b] = scale[b] * sumlx[b];
  }
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float num = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is));
    for (int b = 0; b < kLanes; ++b) iscale[b] = zero[b] ? 0.f : num / max[b];
    step(iscale, sv);
    for (int b = 0; b < kLanes; ++b) {
      if (zero[b] || !(suml2[b] > 0 && sumlx[b] * sumlx[b] > best[b] * suml2[b])) continue;
      for (int i = 0; i < n; ++i) lv[i][b] = sv[i][b];
      scale[b] = sumlx[b] / suml2[b];
      best[b] = scale[b] * sumlx[b];
    }
  }
  for (int g = 0; g < n_groups; ++g) {
    for (int i = 0; i < n; ++i) {
      levels[g * n + i] =
          zero[g] ? int8_t{0} : static_cast<int8_t>(lv[i][g] + static_cast<float>(nmax));
    }
    scales[g] = zero[g] ? 0.f : scale[g];
  }
}

}  // namespace

void make_qx_quants_groups(int n_groups, int n, int nmax, const float* x, int8_t* levels,
                           float* scales, const float* weights) {
  if (n < 1 || n > kMaxGroup) fail(ErrorKind::internal, "scale search: groups of {} elements", n);
  for (int g = 0; g < n_groups; g += kLanes) {
    const int k = std::min(kLanes, n_groups - g);
    qx_lanes(k, n, nmax, x + g * n, weights ? weights + g * n : nullptr, levels + g * n,
             scales + g);
  }
}

void make_qkx2_quants_groups(int n_groups, int n, int nmax, const float* x, const float* weights,
                             uint8_t* levels, float* scales, float* neg_mins, float rmin,
                             float rdelta, int nstep, bool use_mad) {
  if (n < 1 || n > kMaxGroup) fail(ErrorKind::internal, "scale search: groups of {} elements", n);
  for (int g = 0; g < n_groups; g += kLanes) {
    const int k = std::min(kLanes, n_groups - g);
    qkx2_lanes(k, n, nmax, x + g * n, weights + g * n, levels + g * n, scales + g, neg_mins + g,
               rmin, rdelta, nstep, use_mad);
  }
}

float make_qp_quants(int n, int nmax, const float* x, uint8_t* levels, const float* weights) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max < kGroupMaxEps) {
    std::fill(levels, levels + n, uint8_t{0});
    return 0.f;
  }
  const float fmax = static_cast<float>(nmax);
  float iscale = fmax / max;
  // ggml stores the unclamped level in a uint8_t here; the cast reproduces its wrap-around.
  for (int i = 0; i < n; ++i) levels[i] = static_cast<uint8_t>(nearest_int(iscale * x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * static_cast<float>(levels[i]);
    best_mse += weights[i] * diff * diff;
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (0.1f * static_cast<float>(is) + fmax) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::min(nmax, nearest_int(iscale_is * x[i]));
      const float diff = x[i] - scale_is * static_cast<float>(l);
      mse += weights[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
    levels[i] = static_cast<uint8_t>(l);
    const float w = weights[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = weights[i];
      const float li = static_cast<float>(levels[i]);
      float slx = sumlx - w * x[i] * li;
      float sl2 = suml2 - w * li * li;
      if (slx > 0 && sl2 > 0) {
        const int new_l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
        if (new_l != levels[i]) {
          slx += w * x[i] * static_cast<float>(new_l);
          sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            levels[i] = static_cast<uint8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

}  // namespace slmkit::quant
