// SmoothQuant's fold into the neutral model (slmkit/smoothquant.h). The rebuilt model keeps the
// tensors' order: llama.cpp's presets count attn_v / ffn_down in file order to pick their types,
// so a reordered file would quantize differently.
#include "slmkit/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "core/fail.h"
#include "quant/smoothquant_auto.h"

namespace slmkit {
namespace {

bool is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

std::vector<float> floats_of(const Tensor& t) {
  if (!is_float(t.dtype())) {
    fail(ErrorKind::invalid_input,
         "smoothquant: tensor '{}' is {}: expected F32, F16 or BF16 (smooth before quantizing)",
         t.name(), dtype_name(t.dtype()));
  }
  return t.to_f32();
}

Tensor f32_tensor(const Tensor& like, const std::vector<float>& v) {
  std::vector<std::byte> bytes(v.size() * sizeof(float));
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return Tensor::owned(like.name(), DType::F32, like.shape(), std::move(bytes));
}

// `model` with the tensors of `replaced` swapped in, in the original order.
Model with_replaced(const Model& model, std::map<std::string, Tensor>& replaced) {
  Model out;
  out.config = model.config;
  out.vocab = model.vocab;
  out.source = model.source;
  for (const Tensor& t : model.tensors()) {
    auto it = replaced.find(t.name());
    out.add(it == replaced.end() ? t : std::move(it->second));
  }
  return out;
}

int64_t in_features(const Tensor& t) {
  return t.shape().back();
}

float median_of(std::vector<float> v) {
  if (v.empty()) return 0.0f;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// Folds 1/s into the norm and s into its readers, into `replaced` (reading earlier replacements
// of the same tensors, so rescalings compose).
void fold(const Model& model, const std::string& norm, std::span<const float> s,
          std::map<std::string, Tensor>& replaced) {
  auto current = [&](const std::string& name) -> const Tensor& {
    auto it = replaced.find(name);
    return it != replaced.end() ? it->second : model.get(name);
  };
  const std::vector<std::string> readers = norm_readers(model, norm);
  if (readers.empty()) {
    fail(ErrorKind::unsupported, "smoothquant: no matrix reads '{}' directly", norm);
  }
  const auto n = static_cast<int64_t>(s.size());
  const float offset = model.config.norm_weight_offset;
  {
    const Tensor& w = current(norm + ".weight");
    std::vector<float> v = floats_of(w);
    if (static_cast<int64_t>(v.size()) != n) {
      fail(ErrorKind::invalid_input, "smoothquant: '{}' has {} channels, expected {}", w.name(),
           v.size(), n);
    }
    // The engine multiplies by (w + offset) (Gemma's 1 + w): that product is what 1/s scales.
    for (int64_t j = 0; j < n; ++j) v[j] = (v[j] + offset) / s[j] - offset;
    replaced.insert_or_assign(w.name(), f32_tensor(w, v));
  }
  if (const Tensor* b = model.find(norm + ".bias")) {
    const Tensor& bias = current(b->name());
    std::vector<float> v = floats_of(bias);
    for (int64_t j = 0; j < n; ++j) v[j] /= s[j];
    replaced.insert_or_assign(bias.name(), f32_tensor(bias, v));
  }
  for (const std::string& r : readers) {
    const Tensor& w = current(r);
    if (in_features(w) != n) {
      fail(ErrorKind::invalid_input, "smoothquant: '{}' reads {} inputs, '{}' has {} channels", r,
           in_features(w), norm, n);
    }
    std::vector<float> v = floats_of(w);
    const int64_t rows = static_cast<int64_t>(v.size()) / n;
    for (int64_t i = 0; i < rows; ++i) {
      float* row = v.data() + i * n;
      for (int64_t j = 0; j < n; ++j) row[j] *= s[j];
    }
    replaced.insert_or_assign(r, f32_tensor(w, v));
  }
}

}  // namespace

std::vector<float> smoothing_scales(std::span<const float> x, std::span<const float> w,
                                    double alpha) {
  std::vector<float> s(x.size(), 1.0f);
  for (size_t j = 0; j < x.size(); ++j) {
    // A channel that is zero on calibration (or a zero weight column) has nothing to balance;
    // dividing the norm by a tiny s there would blow up inputs calibration never showed.
    if (x[j] > 0.0f && w[j] > 0.0f) {
      s[j] = static_cast<float>(std::pow(static_cast<double>(x[j]), alpha) /
                                std::pow(static_cast<double>(w[j]), 1.0 - alpha));
      s[j] = std::clamp(s[j], 1e-5f, 1e5f);
    }
  }
  return s;
}

SmoothQuantOptions parse_smoothquant(const std::string& text) {
  SmoothQuantOptions o;
  if (text == "auto") {
    o.auto_alpha = true;
    return o;
  }
  size_t used = 0;
  try {
    o.alpha = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !(o.alpha >= 0.0 && o.alpha <= 1.0)) {
    fail(ErrorKind::invalid_input, "smoothquant: '{}': expected an alpha in [0, 1] or auto", text);
  }
  return o;
}

std::string smoothquant_name(const SmoothQuantOptions& options) {
  return options.auto_alpha ? std::string("auto") : fmt::format("{:g}", options.alpha);
}

std::vector<std::string> norm_readers(const Model& model, const std::string& norm) {
  const auto dot = norm.rfind('.');
  if (!norm.starts_with("blk.") || dot == std::string::npos) return {};
  const std::string layer = norm.substr(0, dot + 1);  // "blk.N."
  const std::string kind = norm.substr(dot + 1);
  std::vector<std::string> names;
  if (kind == "attn_norm") {
    if (model.config.fused_qkv) {
      names = {"attn_qkv"};
    } else {
      names = {"attn_q", "attn_k", "attn_v"};
    }
  } else if (kind == "ffn_norm") {
    names = model.config.gated_ffn ? std::vector<std::string>{"ffn_gate", "ffn_up"}
                                   : std::vector<std::string>{"ffn_up"};
  }
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (model.find(layer + n + ".weight")) out.push_back(layer + n + ".weight");
  }
  return out;
}

void rescale_norm_channels(Model& model, const std::string& norm, std::span<const float> scales) {
  std::map<std::string, Tensor> replaced;
  fold(model, norm, scales, replaced);
  model = with_replaced(model, replaced);
}

Model smooth_model(const Model& model, const ActivationRanges& ranges,
                   const SmoothQuantOptions& options, SmoothQuantReport* report) {
  const double a = options.alpha;
  if (!options.auto_alpha && !(a >= 0.0 && a <= 1.0)) {
    fail(ErrorKind::invalid_input, "smoothquant: alpha {} is outside [0, 1]", a);
  }
  std::map<std::string, Tensor> replaced;
  SmoothQuantReport rep;
  for (int64_t l = 0; l < model.config.n_layer; ++l) {
    const std::string layer = "blk." + std::to_string(l) + ".";
    for (const char* kind : {"attn_norm", "ffn_norm"}) {
      const std::string norm = layer + kind;
      if (!model.find(norm + ".weight")) continue;
      const std::vector<std::string> readers = norm_readers(model, norm);
      if (readers.empty()) continue;
      const int64_t n = in_features(model.get(readers.front()));
      // Every reader sees the same input; their ranges agree, so the maximum is any of them.
      std::vector<float> x(static_cast<size_t>(n), 0.0f);
      const std::vector<float>* samples = nullptr;
      bool seen = false;
      for (const std::string& r : readers) {
        auto it = ranges.max_abs.find(r);
        if (it == ranges.max_abs.end()) continue;
        if (static_cast<int64_t>(it->second.size()) != n) {
          fail(ErrorKind::invalid_input, "smoothquant: ranges of '{}' have {} columns, expected {}",
               r, it->second.size(), n);
        }
        for (int64_t j = 0; j < n; ++j) x[j] = std::max(x[j], it->second[j]);
        seen = true;
        auto kept = ranges.samples.find(r);
        if (!samples && kept != ranges.samples.end() && !kept->second.empty()) {
          samples = &kept->second;
        }
      }
      if (!seen) {
        fail(ErrorKind::invalid_input,
             "smoothquant: no calibration ranges for '{}' (readers of {})", readers.front(), norm);
      }
      std::vector<std::vector<float>> weights;
      std::vector<float> w(static_cast<size_t>(n), 0.0f);
      for (const std::string& r : readers) {
        weights.push_back(floats_of(model.get(r)));
        const std::vector<float>& v = weights.back();
        for (size_t i = 0; i < v.size(); ++i) {
          float& m = w[i % static_cast<size_t>(n)];
          m = std::max(m, std::fabs(v[i]));
        }
      }
      SmoothedGroup g;
      g.alpha = a;
      if (options.auto_alpha) {
        if (!samples) {
          fail(ErrorKind::invalid_input,
               "smoothquant auto: no calibration rows kept for {} (collect with sample_rows > 0)",
               norm);
        }
        const AlphaChoice c = choose_alpha(weights, x, w, *samples);
        g.alpha = c.alpha;
        g.alpha_errors = c.errors;
      }
      const std::vector<float> s = smoothing_scales(x, w, g.alpha);
      fold(model, norm, s, replaced);

      g.norm = norm;
      g.readers = readers;
      g.s_min = *std::min_element(s.begin(), s.end());
      g.s_max = *std::max_element(s.begin(), s.end());
      std::vector<float> after(x.size());
      for (size_t j = 0; j < x.size(); ++j) after[j] = x[j] / s[j];
      g.x_max_before = *std::max_element(x.begin(), x.end());
      g.x_max_after = *std::max_element(after.begin(), after.end());
      const float med_b = median_of(x), med_a = median_of(after);
      g.x_ratio_before = med_b > 0 ? g.x_max_before / med_b : 0.0f;
      g.x_ratio_after = med_a > 0 ? g.x_max_after / med_a : 0.0f;
      rep.groups.push_back(std::move(g));
    }
    for (const char* skip : {"attn_output", "ffn_down"}) {
      if (model.find(layer + skip + ".weight")) rep.skipped.push_back(layer + skip + ".weight");
    }
  }
  if (report) *report = std::move(rep);
  return with_replaced(model, replaced);
}

nlohmann::ordered_json SmoothQuantReport::to_json() const {
  nlohmann::ordered_json j;
  j["groups"] = nlohmann::ordered_json::array();
  for (const SmoothedGroup& g : groups) {
    j["groups"].push_back({{"norm", g.norm},
                           {"readers", g.readers},
                           {"alpha", g.alpha},
                           {"s_min", g.s_min},
                           {"s_max", g.s_max},
                           {"x_max_before", g.x_max_before},
                           {"x_max_after", g.x_max_after},
                           {"x_max_over_median_before", g.x_ratio_before},
                           {"x_max_over_median_after", g.x_ratio_after}});
    if (!g.alpha_errors.empty()) {
      nlohmann::ordered_json tried = nlohmann::ordered_json::array();
      for (const auto& [alpha, error] : g.alpha_errors) tried.push_back({alpha, error});
      j["groups"].back()["alpha_search"] = tried;  // [alpha, relative W8A8 output error]
    }
  }
  j["skipped"] = skipped;
  return j;
}

}  // namespace slmkit

namespace slmkit {

std::vector<int64_t> add_outlier_channels(Model& model, int n_channels, float factor) {
  const int64_t n = model.config.n_embd;
  if (n_channels < 1 || n_channels > n || !(factor > 0.0f) || !std::isfinite(factor)) {
    fail(ErrorKind::invalid_input,
         "outlier channels: {} channels of factor {} (expected 1..{} channels, factor > 0)",
         n_channels, factor, n);
  }
  // Stride 37 (> 32) puts neighbours in different blocks; a channel taken already (n a
  // multiple of 37) moves to the next free one.
  std::vector<int64_t> channels;
  for (int64_t i = 0; static_cast<int>(channels.size()) < n_channels; ++i) {
    int64_t j = (17 + 37 * i) % n;
    while (std::find(channels.begin(), channels.end(), j) != channels.end()) j = (j + 1) % n;
    channels.push_back(j);
  }
  std::vector<float> s(static_cast<size_t>(n), 1.0f);
  for (int64_t j : channels) s[static_cast<size_t>(j)] = 1.0f / factor;
  for (int64_t l = 0; l < model.config.n_layer; ++l) {
    for (const char* kind : {"attn_norm", "ffn_norm"}) {
      const std::string norm = "blk." + std::to_string(l) + "." + kind;
      if (model.find(norm + ".weight") && !norm_readers(model, norm).empty()) {
        rescale_norm_channels(model, norm, s);
      }
    }
  }
  return channels;
}

}  // namespace slmkit
