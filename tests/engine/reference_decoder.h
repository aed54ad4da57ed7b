// Header-only (test sources are *_test.cpp). A deliberately plain decoder forward pass in double
// precision, written from the families' definitions (Hugging Face's modeling code) and sharing
// nothing with the engine: the oracle for the engine's logits on synthetic models of every family
// and every config switch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "slmkit/model.h"

namespace slmkit::testing {
namespace reference_detail {

using Vec = std::vector<double>;

class Weights {
 public:
  explicit Weights(const Model& m) : m_(m) {}
  bool has(const std::string& name) const { return m_.find(name) != nullptr; }
  const Vec& get(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    const std::vector<float> f = m_.get(name).to_f32();
    return cache_.emplace(name, Vec(f.begin(), f.end())).first->second;
  }

 private:
  const Model& m_;
  std::map<std::string, Vec> cache_;
};

// y = W x (+ b), W [rows, cols] row-major.
inline Vec linear(const Vec& w, const Vec* b, const Vec& x, size_t rows) {
  const size_t cols = x.size();
  Vec y(rows);
  for (size_t r = 0; r < rows; ++r) {
    double s = b ? (*b)[r] : 0.0;
    for (size_t c = 0; c < cols; ++c) s += w[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

inline double activate(Activation a, double v) {
  switch (a) {
    case Activation::silu:
      return v / (1.0 + std::exp(-v));
    case Activation::gelu_tanh:
      return 0.5 * v *
             (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
    case Activation::gelu_erf:
      return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  }
  return v;
}

}  // namespace reference_detail

// Logits after each of `tokens` (at positions 0..), [tokens.size()][vocab].
inline std::vector<std::vector<double>> reference_logits(const Model& model,
                                                         std::span<const int32_t> tokens) {
  using namespace reference_detail;
  const ModelConfig& c = model.config;
  Weights W(model);
  const auto E = static_cast<size_t>(c.n_embd);
  const auto H = static_cast<size_t>(c.n_head);
  const auto KV = static_cast<size_t>(c.n_head_kv);
  const auto hd = static_cast<size_t>(c.head_dim);
  const auto F = static_cast<size_t>(c.n_ff);
  const auto V = static_cast<size_t>(c.vocab_size);
  const size_t n_rep = H / KV;
  const size_t n_dims = c.rope.n_dims > 0 ? static_cast<size_t>(c.rope.n_dims) : hd;
  const double offset = c.norm_weight_offset;

  auto norm = [&](const Vec& v, const std::string& prefix) {
    const Vec& w = W.get(prefix + ".weight");
    const Vec* b = W.has(prefix + ".bias") ? &W.get(prefix + ".bias") : nullptr;
    const size_t n = v.size();
    Vec y(n);
    if (c.norm == NormKind::layer_norm) {
      double mean = 0, var = 0;
      for (double x : v) mean += x / static_cast<double>(n);
      for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(n);
      for (size_t i = 0; i < n; ++i) {
        y[i] = (v[i] - mean) / std::sqrt(var + c.norm_eps) * (w[i] + offset) + (b ? (*b)[i] : 0);
      }
    } else {
      double ms = 0;
      for (double x : v) ms += x * x / static_cast<double>(n);
      for (size_t i = 0; i < n; ++i) y[i] = v[i] / std::sqrt(ms + c.norm_eps) * (w[i] + offset);
    }
    return y;
  };

  // Rotates one head in place; pairs (2i, 2i+1) or (i, i + n_dims/2).
  const Vec* factors = W.has("rope_freqs.weight") ? &W.get("rope_freqs.weight") : nullptr;
  auto rope = [&](double* head, size_t pos, bool sliding) {
    const double base = sliding ? c.rope.freq_base_local : c.rope.freq_base;
    for (size_t i = 0; i < n_dims / 2; ++i) {
      double theta = static_cast<double>(pos) *
                     std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_dims));
      if (factors) theta /= (*factors)[i];
      if (c.rope.scaling == RopeScaling::linear && !sliding) theta /= c.rope.scaling_factor;
      const bool neox = c.rope.style == RopeStyle::neox;
      const size_t i0 = neox ? i : 2 * i, i1 = neox ? i + n_dims / 2 : 2 * i + 1;
      const double a = head[i0], b = head[i1];
      head[i0] = a * std::cos(theta) - b * std::sin(theta);
      head[i1] = a * std::sin(theta) + b * std::cos(theta);
    }
  };

  const size_t T = tokens.size();
  std::vector<Vec> x(T);
  {
    const Vec& emb = W.get("token_embd.weight");
    for (size_t t = 0; t < T; ++t) {
      x[t].assign(emb.begin() + static_cast<std::ptrdiff_t>(tokens[t] * E),
                  emb.begin() + static_cast<std::ptrdiff_t>((tokens[t] + 1) * E));
      for (double& v : x[t]) v *= c.embed_scale;
      if (c.learned_positions) {
        const Vec& pos = W.get("position_embd.weight");
        for (size_t i = 0; i < E; ++i) x[t][i] += pos[t * E + i];
      }
    }
  }
  const double scale = c.attn_scale > 0 ? c.attn_scale : 1.0 / std::sqrt(static_cast<double>(hd));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const bool sliding = !c.layer_attention.empty() &&
                         c.layer_attention[static_cast<size_t>(l)] == AttentionKind::sliding;
    std::vector<Vec> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      const Vec h = norm(x[t], p + "attn_norm");
      auto bias = [&](const std::string& n) { return W.has(n) ? &W.get(n) : nullptr; };
      if (W.has(p + "attn_qkv.weight")) {
        const Vec qkv =
            linear(W.get(p + "attn_qkv.weight"), bias(p + "attn_qkv.bias"), h, (H + 2 * KV) * hd);
        q[t].assign(qkv.begin(), qkv.begin() + static_cast<std::ptrdiff_t>(H * hd));
        k[t].assign(qkv.begin() + static_cast<std::ptrdiff_t>(H * hd),
                    qkv.begin() + static_cast<std::ptrdiff_t>((H + KV) * hd));
        v[t].assign(qkv.begin() + static_cast<std::ptrdiff_t>((H + KV) * hd), qkv.end());
      } else {
        q[t] = linear(W.get(p + "attn_q.weight"), bias(p + "attn_q.bias"), h, H * hd);
        k[t] = linear(W.get(p + "attn_k.weight"), bias(p + "attn_k.bias"), h, KV * hd);
        v[t] = linear(W.get(p + "attn_v.weight"), bias(p + "attn_v.bias"), h, KV * hd);
      }
      if (c.qk_norm) {
        for (size_t hh = 0; hh < H; ++hh) {
          Vec head(q[t].begin() + static_cast<std::ptrdiff_t>(hh * hd),
                   q[t].begin() + static_cast<std::ptrdiff_t>((hh + 1) * hd));
          head = norm(head, p + "attn_q_norm");
          std::copy(head.begin(), head.end(), q[t].begin() + static_cast<std::ptrdiff_t>(hh * hd));
        }
        for (size_t g = 0; g < KV; ++g) {
          Vec head(k[t].begin() + static_cast<std::ptrdiff_t>(g * hd),
                   k[t].begin() + static_cast<std::ptrdiff_t>((g + 1) * hd));
          head = norm(head, p + "attn_k_norm");
          std::copy(head.begin(), head.end(), k[t].begin() + static_cast<std::ptrdiff_t>(g * hd));
        }
      }
      if (c.rope.style != RopeStyle::none) {
        for (size_t hh = 0; hh < H; ++hh) rope(q[t].data() + hh * hd, t, sliding);
        for (size_t g = 0; g < KV; ++g) rope(k[t].data() + g * hd, t, sliding);
      }
    }
    for (size_t t = 0; t < T; ++t) {
      Vec att(H * hd, 0.0);
      const size_t lo = sliding && static_cast<int64_t>(t) >= c.sliding_window
                            ? t - static_cast<size_t>(c.sliding_window) + 1
                            : 0;
      for (size_t hh = 0; hh < H; ++hh) {
        const size_t g = hh / n_rep;
        Vec s(t + 1 - lo);
        for (size_t j = lo; j <= t; ++j) {
          double dot = 0;
          for (size_t d = 0; d < hd; ++d) dot += q[t][hh * hd + d] * k[j][g * hd + d];
          dot *= scale;
          if (c.attn_logit_softcap > 0) {
            dot = c.attn_logit_softcap * std::tanh(dot / c.attn_logit_softcap);
          }
          s[j - lo] = dot;
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t j = lo; j <= t; ++j) {
          for (size_t d = 0; d < hd; ++d) att[hh * hd + d] += s[j - lo] / sum * v[j][g * hd + d];
        }
      }
      auto bias = [&](const std::string& n) { return W.has(n) ? &W.get(n) : nullptr; };
      Vec o = linear(W.get(p + "attn_output.weight"), bias(p + "attn_output.bias"), att, E);
      if (c.sandwich_norm) o = norm(o, p + "post_attention_norm");
      for (size_t i = 0; i < E; ++i) x[t][i] += o[i];

      const Vec h = norm(x[t], p + "ffn_norm");
      Vec a;
      if (c.gated_ffn) {
        const Vec gate = linear(W.get(p + "ffn_gate.weight"), nullptr, h, F);
        const Vec up = linear(W.get(p + "ffn_up.weight"), bias(p + "ffn_up.bias"), h, F);
        a.resize(F);
        for (size_t i = 0; i < F; ++i) a[i] = activate(c.activation, gate[i]) * up[i];
      } else {
        a = linear(W.get(p + "ffn_up.weight"), bias(p + "ffn_up.bias"), h, F);
        for (double& e : a) e = activate(c.activation, e);
      }
      Vec d = linear(W.get(p + "ffn_down.weight"), bias(p + "ffn_down.bias"), a, E);
      if (c.sandwich_norm) d = norm(d, p + "post_ffw_norm");
      for (size_t i = 0; i < E; ++i) x[t][i] += d[i];
    }
  }
  const Vec& out = W.has("output.weight") ? W.get("output.weight") : W.get("token_embd.weight");
  std::vector<Vec> logits(T);
  for (size_t t = 0; t < T; ++t) {
    logits[t] = linear(out, nullptr, norm(x[t], "output_norm"), V);
    if (c.final_logit_softcap > 0) {
      for (double& e : logits[t]) e = c.final_logit_softcap * std::tanh(e / c.final_logit_softcap);
    }
  }
  return logits;
}

}  // namespace slmkit::testing
