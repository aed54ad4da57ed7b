#include "slmkit/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/fail.h"
#include "engine/sampling.h"

namespace slmkit {

namespace engine {
namespace {

// Uniform in [0, 1) from the top 53 bits: the same on every platform (unlike
// std::uniform_real_distribution, whose algorithm the standard leaves open).
double uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace

int32_t sample_token(const SamplerParams& params, std::span<const float> in,
                     std::span<const int32_t> recent, const SamplingScratch& scratch,
                     std::mt19937_64& rng) {
  if (in.empty()) fail_invalid("sampler: no logits");
  if (in.size() > scratch.logits.size() || in.size() > scratch.candidates.size() ||
      recent.size() > scratch.penalized.size()) {
    fail_invalid("sampler: {} logits and {} recent tokens do not fit its scratch ({}, {})",
                 in.size(), recent.size(), scratch.logits.size(), scratch.penalized.size());
  }
  const std::span<float> logits = scratch.logits.first(in.size());
  std::copy(in.begin(), in.end(), logits.begin());
  if (params.repeat_penalty != 1.0f && !recent.empty()) {
    const std::span<int32_t> penalized = scratch.penalized.first(recent.size());
    std::copy(recent.begin(), recent.end(), penalized.begin());
    std::sort(penalized.begin(), penalized.end());
    const auto unique_end = std::unique(penalized.begin(), penalized.end());
    for (auto it = penalized.begin(); it != unique_end; ++it) {
      if (*it < 0 || static_cast<size_t>(*it) >= logits.size()) continue;
      float& l = logits[static_cast<size_t>(*it)];
      l = l > 0 ? l / params.repeat_penalty : l * params.repeat_penalty;
    }
  }
  if (params.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  const std::span<Candidate> candidates = scratch.candidates.first(logits.size());
  // A NaN logit (from broken weights) ranks last: sorting needs a strict weak order.
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = std::isnan(logits[i]) ? -std::numeric_limits<float>::infinity() : logits[i];
    candidates[i] = {l, static_cast<int32_t>(i)};
  }
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
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
  const float max_logit = candidates[0].logit;
  if (params.top_p < 1.0f) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += std::exp(candidates[i].logit - max_logit);
    double cumulative = 0;
    for (size_t i = 0; i < n; ++i) {
      cumulative += std::exp(candidates[i].logit - max_logit) / total;
      if (cumulative >= params.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  if (params.min_p > 0.0f) {
    const float threshold = max_logit + std::log(params.min_p);
    size_t keep = 1;
    while (keep < n && candidates[keep].logit >= threshold) ++keep;
    n = keep;
  }
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += std::exp((candidates[i].logit - max_logit) / params.temperature);
  }
  const double target = uniform(rng) * total;
  double cumulative = 0;
  for (size_t i = 0; i < n; ++i) {
    cumulative += std::exp((candidates[i].logit - max_logit) / params.temperature);
    if (target < cumulative) return candidates[i].id;
  }
  return candidates[n - 1].id;
}

}  // namespace engine

struct Sampler::Impl {
  SamplerParams params;
  std::mt19937_64 rng;
  std::vector<int32_t> history;  // ring of the last repeat_last_n tokens
  size_t history_next = 0;
  // Scratch reused across calls (sized by the vocabulary on the first one).
  std::vector<float> logits;
  std::vector<engine::Candidate> candidates;
  std::vector<int32_t> penalized;

  explicit Impl(const SamplerParams& p) : params(p), rng(p.seed) {
    const auto window = static_cast<size_t>(std::max<int32_t>(p.repeat_last_n, 0));
    history.reserve(window);
    penalized.resize(window);
  }

  int32_t sample(std::span<const float> in) {
    if (logits.size() < in.size()) {
      logits.resize(in.size());
      candidates.resize(in.size());
    }
    return engine::sample_token(params, in, history, {logits, candidates, penalized}, rng);
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
