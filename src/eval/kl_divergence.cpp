// llama-perplexity's KL-divergence mode (tools/perplexity/perplexity.cpp: the log_softmax that
// writes uint16 log-probabilities, kl_divergence() and its statistics), with the same float /
// double mix so the numbers agree with llama.cpp's to the digits it prints.
#include "eval/kl_divergence.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <iterator>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/byte_reader.h"
#include "core/fail.h"
#include "core/mapped_file.h"
#include "core/stopwatch.h"
#include "eval/chunks.h"
#include "eval/nll.h"
#include "quant/scale_search.h"

namespace slmkit {
namespace {

constexpr char kMagic[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};

int64_t row_values(int64_t n_vocab) {  // uint16 values per scored position
  return 2 * ((n_vocab + 1) / 2) + 4;
}

// Fills `out` (row_values(n_vocab) uint16) and returns the token's negative log-likelihood as
// llama-perplexity rounds it (through float); `exact_nll` gets eval::token_nll's.
double encode_log_probs(int64_t n_vocab, const float* logits, uint16_t* out, int32_t tok,
                        double& exact_nll) {
  float max_logit = logits[0];
  float min_logit = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) {
    max_logit = std::max(max_logit, logits[i]);
    min_logit = std::min(min_logit, logits[i]);
  }
  min_logit = std::max(min_logit, max_logit - 16);
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  exact_nll = eval::nll_from_sum(logits[tok], max_logit, sum_exp);
  const auto log_sum_exp = static_cast<float>(std::log(sum_exp));
  const float min_log_prob = min_logit - max_logit - log_sum_exp;
  const float scale = (max_logit - min_logit) / 65535.f;
  std::memcpy(out, &scale, sizeof(float));
  std::memcpy(out + 2, &min_log_prob, sizeof(float));
  uint16_t* lp = out + 4;
  if (scale != 0.0f) {
    const float inv_scale = 1 / scale;
    for (int64_t i = 0; i < n_vocab; ++i) {
      lp[i] = logits[i] > min_logit
                  ? static_cast<uint16_t>(quant::nearest_int(inv_scale * (logits[i] - min_logit)))
                  : 0;
    }
  } else {
    std::fill(lp, lp + n_vocab, uint16_t{0});
  }
  return max_logit + log_sum_exp - logits[tok];
}

struct Sums {
  double nll = 0, nll2 = 0, nll_base = 0, nll_base2 = 0, nll_nll_base = 0;
  double kld = 0, kld2 = 0, p_diff = 0, p_diff2 = 0, p_diff4 = 0;
  size_t same_top = 0, count = 0;
};

void compare_row(int64_t n_vocab, const float* logits, const uint16_t* base, int32_t tok, Sums& s,
                 float& kld_out, float& p_diff_out, double& exact_nll) {
  float max_logit = logits[0];
  int64_t imax = 0;
  for (int64_t i = 1; i < n_vocab; ++i) {
    if (logits[i] > max_logit) {
      max_logit = logits[i];
      imax = i;
    }
  }
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  exact_nll = eval::nll_from_sum(logits[tok], max_logit, sum_exp);
  const auto log_sum_exp = static_cast<float>(std::log(sum_exp));
  float scale, min_log_prob;
  std::memcpy(&scale, base, sizeof(float));
  std::memcpy(&min_log_prob, base + 2, sizeof(float));
  base += 4;
  const float nll = max_logit + log_sum_exp - logits[tok];
  s.nll += nll;
  s.nll2 += nll * nll;
  const float nll_base = -(scale * base[tok] + min_log_prob);
  s.nll_base += nll_base;
  s.nll_base2 += nll_base * nll_base;
  s.nll_nll_base += nll * nll_base;
  max_logit += log_sum_exp;
  double sum = 0;
  int64_t imax_base = -1;
  float p_log_base_max = 0;
  for (int64_t i = 0; i < n_vocab; ++i) {
    const float p_log_base = scale * base[i] + min_log_prob;
    if (i == 0 || p_log_base > p_log_base_max) {
      p_log_base_max = p_log_base;
      imax_base = i;
    }
    // Below e^-16 the base file holds no information (it clips there), as llama.cpp skips.
    if (p_log_base > -16.f) {
      const float p_base = std::exp(p_log_base);
      sum += p_base * (p_log_base - logits[i] + max_logit);
    }
  }
  s.kld += sum;
  s.kld2 += sum * sum;
  ++s.count;
  if (imax == imax_base) ++s.same_top;
  const float p_base = std::exp(-nll_base);
  const float p = std::exp(-nll);
  const float p_diff = p - p_base;
  s.p_diff += p_diff;
  const double p_diff2 = p_diff * p_diff;
  s.p_diff2 += p_diff2;
  s.p_diff4 += p_diff2 * p_diff2;
  kld_out = static_cast<float>(sum);
  p_diff_out = p_diff;
}

std::pair<double, double> mean_and_uncertainty(double sum, double sum2, size_t count) {
  if (count < 1) return {0., 0.};
  const double f = sum / static_cast<double>(count);
  double df = sum2 / static_cast<double>(count) - f * f;
  df = df > 0 && count > 10 ? std::sqrt(df / static_cast<double>(count - 1)) : 0.;
  return {f, df};
}

double covariance(double suma, double sumb, double sumab, size_t count) {
  if (count < 10) return 0.0;
  const auto n = static_cast<double>(count);
  double var = sumab / n - (suma / n) * (sumb / n);
  return var / (n - 1);
}

float percentile(const std::vector<float>& sorted, float fraction) {
  if (fraction <= 0) return sorted.front();
  if (fraction >= 1) return sorted.back();
  float p = fraction * static_cast<float>(sorted.size() - 1);
  const auto ip = static_cast<size_t>(p);
  p -= static_cast<float>(ip);
  return (1 - p) * sorted[ip] + p * sorted[std::min(ip + 1, sorted.size() - 1)];
}

float median(const std::vector<float>& v) {
  const size_t n = v.size();
  return n % 2 == 0 ? 0.5f * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
}

// Maximum, minimum, median and the given percentiles of sorted values.
void order_statistics(const std::vector<float>& sorted, std::initializer_list<float> fractions,
                      double& max, double& min, double& median_value,
                      std::vector<std::pair<double, double>>& percentiles) {
  max = sorted.back();
  min = sorted.front();
  median_value = median(sorted);
  for (float f : fractions) percentiles.emplace_back(f, percentile(sorted, f));
}

// llama-perplexity's statistics over every compared position (values sorted in place).
KlDivergenceResult statistics(const Sums& s, std::vector<float>& kld_values,
                              std::vector<float>& p_diff_values) {
  KlDivergenceResult k;
  k.count = static_cast<int64_t>(s.count);
  std::sort(kld_values.begin(), kld_values.end());
  std::sort(p_diff_values.begin(), p_diff_values.end());
  const auto log_ppl = mean_and_uncertainty(s.nll, s.nll2, s.count);
  k.ppl = std::exp(log_ppl.first);
  k.ppl_error = k.ppl * log_ppl.second;
  const auto log_ppl_base = mean_and_uncertainty(s.nll_base, s.nll_base2, s.count);
  k.ppl_base = std::exp(log_ppl_base.first);
  k.ppl_base_error = k.ppl_base * log_ppl_base.second;
  const double cov = covariance(s.nll, s.nll_base, s.nll_nll_base, s.count);
  k.log_ppl_correlation = cov / (log_ppl.second * log_ppl_base.second);
  k.log_ppl_ratio = log_ppl.first - log_ppl_base.first;
  k.log_ppl_ratio_error = std::sqrt(log_ppl.second * log_ppl.second +
                                    log_ppl_base.second * log_ppl_base.second - 2.0 * cov);
  k.ppl_ratio = std::exp(k.log_ppl_ratio);
  k.ppl_ratio_error = k.ppl_ratio * k.log_ppl_ratio_error;
  const double ppl_cov = k.ppl * k.ppl_base * cov;
  k.ppl_diff = k.ppl - k.ppl_base;
  k.ppl_diff_error =
      std::sqrt(k.ppl_error * k.ppl_error + k.ppl_base_error * k.ppl_base_error - 2.0 * ppl_cov);
  const auto kl = mean_and_uncertainty(s.kld, s.kld2, s.count);
  k.kld_mean = kl.first;
  k.kld_error = kl.second;
  order_statistics(kld_values, {0.999f, 0.990f, 0.950f, 0.900f, 0.100f, 0.050f, 0.010f, 0.001f},
                   k.kld_max, k.kld_min, k.kld_median, k.kld_percentiles);
  const auto dp = mean_and_uncertainty(s.p_diff, s.p_diff2, s.count);
  k.dp_mean = dp.first;
  k.dp_error = dp.second;
  order_statistics(p_diff_values,
                   {0.999f, 0.990f, 0.950f, 0.900f, 0.750f, 0.250f, 0.100f, 0.050f, 0.010f, 0.001f},
                   k.dp_max, k.dp_min, k.dp_median, k.dp_percentiles);
  const auto mse = mean_and_uncertainty(s.p_diff2, s.p_diff4, s.count);
  k.dp_rms = std::sqrt(mse.first);
  k.dp_rms_error = k.dp_rms > 0 ? 0.5 / k.dp_rms * mse.second : 0.0;
  k.same_top = static_cast<double>(s.same_top) / static_cast<double>(s.count);
  k.same_top_error =
      s.count > 1 ? std::sqrt(k.same_top * (1.0 - k.same_top) / static_cast<double>(s.count - 1))
                  : 0.0;
  return k;
}

// eval::perplexity's numbers from the NLLs a KL pass computes anyway (null target: nothing).
class ExactPerplexity {
 public:
  explicit ExactPerplexity(PerplexityResult* target) : target_(target) {}
  void add(double nll) { acc_.add(nll); }
  void end_chunk() { chunk_ppl_.push_back(acc_.ppl()); }
  void finish(int64_t n_chunks, double seconds) {
    if (!target_) return;
    *target_ = acc_.result();
    target_->n_chunks = n_chunks;
    target_->chunk_ppl = std::move(chunk_ppl_);
    target_->seconds = seconds;
  }

 private:
  PerplexityResult* target_;
  eval::NllAccumulator acc_;
  std::vector<double> chunk_ppl_;
};

}  // namespace

namespace eval {

PerplexityResult write_kl_base(LogitSource& source, int64_t n_vocab,
                               std::span<const int32_t> tokens, const PerplexityOptions& options,
                               const std::filesystem::path& path, PerplexityResult* perplexity) {
  const ChunkPlan plan =
      plan_chunks(static_cast<int64_t>(tokens.size()), options.n_ctx, options.n_chunks,
                  options.add_bos, options.bos_id, 4, "kl-divergence base");
  AtomicFile out(path);
  out.write(kMagic, sizeof kMagic);
  const int32_t header[3] = {static_cast<int32_t>(plan.n_ctx), static_cast<int32_t>(n_vocab),
                             static_cast<int32_t>(plan.n_chunks)};
  out.write(header, sizeof header);
  out.write(tokens.data(), static_cast<size_t>(plan.n_chunks * plan.n_ctx) * sizeof(int32_t));

  const int64_t nv = row_values(n_vocab);
  std::vector<uint16_t> rows(static_cast<size_t>(plan.scored_per_chunk() * nv), 0);
  NllAccumulator acc;
  ExactPerplexity exact(perplexity);
  std::vector<double> chunk_ppl;
  const Stopwatch clock;
  score_chunks(source, tokens, plan, n_vocab, [&](const ScoredChunk& s) {
    for (int64_t j = s.first_scored; j < s.end_scored; ++j) {
      double exact_nll = 0;
      acc.add(encode_log_probs(n_vocab, s.row(j), rows.data() + (j - s.first_scored) * nv,
                               s.target(j), exact_nll));
      exact.add(exact_nll);
    }
    exact.end_chunk();
    out.write(rows.data(), rows.size() * sizeof(uint16_t));
    chunk_ppl.push_back(acc.ppl());
    if (options.on_chunk)
      options.on_chunk({s.index + 1, plan.n_chunks, acc.ppl(), clock.seconds()});
  });
  out.commit();
  PerplexityResult result = acc.result();
  result.chunk_ppl = std::move(chunk_ppl);
  result.n_chunks = plan.n_chunks;
  result.seconds = clock.seconds();
  exact.finish(plan.n_chunks, result.seconds);
  return result;
}

KlDivergenceResult compute_kl_divergence(LogitSource& source, int64_t n_vocab,
                                         const std::filesystem::path& base,
                                         const PerplexityOptions& options,
                                         PerplexityResult* perplexity) {
  const auto file = MappedFile::open(base);
  ByteReader r(file->bytes(), base.string());
  if (std::memcmp(r.bytes(8, "magic").data(), kMagic, 8) != 0) {
    fail_invalid("{}: not a llama-perplexity log-probability file (no \"_logits_\" magic)",
                 base.string());
  }
  ChunkPlan plan;
  plan.n_ctx = r.read<int32_t>("n_ctx");
  const int64_t file_vocab = r.read<int32_t>("n_vocab");
  plan.n_chunks = r.read<int32_t>("n_chunk");
  plan.add_bos = options.add_bos;
  plan.bos_id = options.bos_id;
  check_chunk_options(plan.n_ctx, plan.add_bos, plan.bos_id, 4, "kl-divergence");
  if (file_vocab != n_vocab) {
    fail_invalid("{}: base log-probabilities are over {} tokens, the model has {}", base.string(),
                 file_vocab, n_vocab);
  }
  if (plan.n_chunks < 1) fail_invalid("{}: {} chunks", base.string(), plan.n_chunks);
  const std::span<const std::byte> token_bytes = r.bytes(
      static_cast<uint64_t>(plan.n_ctx * plan.n_chunks) * sizeof(int32_t), "evaluation tokens");
  std::vector<int32_t> tokens(static_cast<size_t>(plan.n_ctx * plan.n_chunks));
  std::memcpy(tokens.data(), token_bytes.data(), token_bytes.size());
  if (options.n_chunks >= 0) plan.n_chunks = std::min(plan.n_chunks, options.n_chunks);
  for_each_chunk(tokens, plan, [&](int64_t c, std::span<const int32_t> chunk) {
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i] < 0 || chunk[i] >= n_vocab)
        fail_invalid("{}: token {} at chunk {} position {} is outside the vocabulary",
                     base.string(), chunk[i], c, i);
    }
  });

  const int64_t nv = row_values(n_vocab);
  const int64_t n_scored = plan.scored_per_chunk();
  std::vector<uint16_t> rows(static_cast<size_t>(n_scored * nv));
  std::vector<float> kld_values, p_diff_values;
  kld_values.reserve(static_cast<size_t>(n_scored * plan.n_chunks));
  p_diff_values.reserve(static_cast<size_t>(n_scored * plan.n_chunks));
  Sums sums;
  ExactPerplexity exact(perplexity);
  const Stopwatch clock;
  score_chunks(source, tokens, plan, n_vocab, [&](const ScoredChunk& s) {
    const std::span<const std::byte> raw = r.bytes(
        rows.size() * sizeof(uint16_t), fmt::format("log-probabilities of chunk {}", s.index));
    std::memcpy(rows.data(), raw.data(), raw.size());
    for (int64_t j = s.first_scored; j < s.end_scored; ++j) {
      float kld, p_diff;
      double exact_nll = 0;
      compare_row(n_vocab, s.row(j), rows.data() + (j - s.first_scored) * nv, s.target(j), sums,
                  kld, p_diff, exact_nll);
      kld_values.push_back(kld);
      p_diff_values.push_back(p_diff);
      exact.add(exact_nll);
    }
    exact.end_chunk();
    if (options.on_chunk) {
      const auto lp = mean_and_uncertainty(sums.nll, sums.nll2, sums.count);
      options.on_chunk({s.index + 1, plan.n_chunks, std::exp(lp.first), clock.seconds()});
    }
  });
  KlDivergenceResult k = statistics(sums, kld_values, p_diff_values);
  k.n_chunks = plan.n_chunks;
  k.seconds = clock.seconds();
  exact.finish(plan.n_chunks, k.seconds);
  return k;
}

int64_t kl_base_context(const std::filesystem::path& base) {
  const auto file = MappedFile::open(base);
  ByteReader r(file->bytes(), base.string());
  r.skip(8, "magic");
  return r.read<int32_t>("n_ctx");
}

}  // namespace eval

PerplexityResult write_kl_base(const ChunkLogits& logits, int64_t n_vocab,
                               std::span<const int32_t> tokens, const PerplexityOptions& options,
                               const std::filesystem::path& path) {
  eval::FunctionLogits source(logits);
  return eval::write_kl_base(source, n_vocab, tokens, options, path);
}

KlDivergenceResult compute_kl_divergence(const ChunkLogits& logits, int64_t n_vocab,
                                         const std::filesystem::path& base,
                                         const PerplexityOptions& options) {
  eval::FunctionLogits source(logits);
  return eval::compute_kl_divergence(source, n_vocab, base, options);
}

std::string KlDivergenceResult::to_text() const {
  std::string t;
  auto out = std::back_inserter(t);
  fmt::format_to(out, "====== Perplexity statistics ======\n");
  fmt::format_to(out, "Mean PPL(Q)                   : {:10.6f} ± {:10.6f}\n", ppl, ppl_error);
  fmt::format_to(out, "Mean PPL(base)                : {:10.6f} ± {:10.6f}\n", ppl_base,
                 ppl_base_error);
  fmt::format_to(out, "Cor(ln(PPL(Q)), ln(PPL(base))): {:6.2f}%\n", 100.0 * log_ppl_correlation);
  fmt::format_to(out, "Mean ln(PPL(Q)/PPL(base))     : {:10.6f} ± {:10.6f}\n", log_ppl_ratio,
                 log_ppl_ratio_error);
  fmt::format_to(out, "Mean PPL(Q)/PPL(base)         : {:10.6f} ± {:10.6f}\n", ppl_ratio,
                 ppl_ratio_error);
  fmt::format_to(out, "Mean PPL(Q)-PPL(base)         : {:10.6f} ± {:10.6f}\n", ppl_diff,
                 ppl_diff_error);
  fmt::format_to(out, "\n====== KL divergence statistics ======\n");
  fmt::format_to(out, "Mean    KLD: {:10.6f} ± {:10.6f}\n", kld_mean, kld_error);
  fmt::format_to(out, "Maximum KLD: {:10.6f}\n", kld_max);
  for (const auto& [f, v] : kld_percentiles) {
    if (f < 0.5) continue;
    fmt::format_to(out, "{:4.1f}%   KLD: {:10.6f}\n", 100.0 * f, v);
  }
  fmt::format_to(out, "Median  KLD: {:10.6f}\n", kld_median);
  for (const auto& [f, v] : kld_percentiles) {
    if (f > 0.5) continue;
    fmt::format_to(out, "{:4.1f}%   KLD: {:10.6f}\n", 100.0 * f, v);
  }
  fmt::format_to(out, "Minimum KLD: {:10.6f}\n", kld_min);
  fmt::format_to(out, "\n====== Token probability statistics ======\n");
  fmt::format_to(out, "Mean    Δp: {:6.3f} ± {:5.3f} %\n", 100.0 * dp_mean, 100.0 * dp_error);
  fmt::format_to(out, "Maximum Δp: {:6.3f}%\n", 100.0 * dp_max);
  for (const auto& [f, v] : dp_percentiles) {
    if (f < 0.5) continue;
    fmt::format_to(out, "{:4.1f}%   Δp: {:6.3f}%\n", 100.0 * f, 100.0 * v);
  }
  fmt::format_to(out, "Median  Δp: {:6.3f}%\n", 100.0 * dp_median);
  for (const auto& [f, v] : dp_percentiles) {
    if (f > 0.5) continue;
    fmt::format_to(out, "{:4.1f}%   Δp: {:6.3f}%\n", 100.0 * f, 100.0 * v);
  }
  fmt::format_to(out, "Minimum Δp: {:6.3f}%\n", 100.0 * dp_min);
  fmt::format_to(out, "RMS Δp    : {:6.3f} ± {:5.3f} %\n", 100.0 * dp_rms, 100.0 * dp_rms_error);
  fmt::format_to(out, "Same top p: {:6.3f} ± {:5.3f} %\n", 100.0 * same_top,
                 100.0 * same_top_error);
  return t;
}

}  // namespace slmkit
