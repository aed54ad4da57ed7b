#include "slmkit/sampler.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/fail.h"

namespace slmkit {

struct Sampler::Impl {
  SamplerParams params;
  std::mt19937_64 rng;
  std::vector<int32_t> history;  // ring of the last repeat_last_n tokens
  size_t history_next = 0;
  // Scratch reused across calls (sized by the vocabulary on the first one).
  std::vector<float> logits;
  std::vector<std::pair<float, int32_t>> candidates;
  std::vector<int32_t> penalized;

  explicit Impl(const SamplerParams& p) : params(p), rng(p.seed) {
    const auto window = static_cast<size_t>(std::max<int32_t>(p.repeat_last_n, 0));
    history.reserve(window);
    penalized.reserve(window);
  }

  // Uniform in [0, 1) from the top 53 bits: the same on every platform (unlike
  // std::uniform_real_distribution, whose algorithm the standard leaves open).
  double uniform() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

  void apply_penalty() {
    if (params.repeat_penalty == 1.0f || history.empty()) return;
    penalized.assign(history.begin(), history.end());
    std::sort(penalized.begin(), penalized.end());
    penalized.erase(std::unique(penalized.begin(), penalized.end()), penalized.end());
    for (int32_t id : penalized) {
      if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
      float& l = logits[static_cast<size_t>(id)];
      l = l > 0 ? l / params.repeat_penalty : l * params.repeat_penalty;
    }
  }

  int32_t sample(std::span<const float> in) {
    if (in.empty()) fail_invalid("sampler: no logits");
    logits.assign(in.begin(), in.end());
    apply_penalty();
    if (params.temperature <= 0.0f) {
      return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    candidates.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) candidates[i] = {logits[i], static_cast<int32_t>(i)};
    auto by_logit = [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    size_t n = candidates.size();
    if (params.top_k > 0 && static_cast<size_t>(params.top_k) < n) {
      n = static_cast<size_t>(params.top_k);
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n),
                        candidates.end(), by_logit);
    } else {
      std::sort(candidates.begin(), candidates.end(), by_logit);
    }
    // Probabilities of the survivors (at temperature 1, as llama.cpp's top-p and min-p see them).
    const float max_logit = candidates[0].first;
    if (params.top_p < 1.0f) {
      double total = 0;
      for (size_t i = 0; i < n; ++i) total += std::exp(candidates[i].first - max_logit);
      double cumulative = 0;
      for (size_t i = 0; i < n; ++i) {
        cumulative += std::exp(candidates[i].first - max_logit) / total;
        if (cumulative >= params.top_p) {
          n = i + 1;
          break;
        }
      }
    }
    if (params.min_p > 0.0f) {
      const float threshold = max_logit + std::log(params.min_p);
      size_t keep = 1;
      while (keep < n && candidates[keep].first >= threshold) ++keep;
      n = keep;
    }
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += std::exp((candidates[i].first - max_logit) / params.temperature);
    }
    const double target = uniform() * total;
    double cumulative = 0;
    for (size_t i = 0; i < n; ++i) {
      cumulative += std::exp((candidates[i].first - max_logit) / params.temperature);
      if (target < cumulative) return candidates[i].second;
    }
    return candidates[n - 1].second;
  }

  void accept(int32_t token) {
    if (params.repeat_last_n <= 0) return;
    const auto cap = static_cast<size_t>(params.repeat_last_n);
    if (history.size() < cap) {
      history.push_back(token);
    } else {
      history[history_next] = token;
      history_next = (history_next + 1) % cap;
    }
  }
};

Sampler::Sampler(const SamplerParams& params) : impl_(std::make_unique<Impl>(params)) {}
Sampler::~Sampler() = default;
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

const SamplerParams& Sampler::params() const {
  return impl_->params;
}
int32_t Sampler::sample(std::span<const float> logits) {
  return impl_->sample(logits);
}
void Sampler::accept(int32_t token) {
  impl_->accept(token);
}
void Sampler::reset() {
  impl_->history.clear();
  impl_->history_next = 0;
  impl_->rng.seed(impl_->params.seed);
}

}  // namespace slmkit
