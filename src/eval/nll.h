// Negative log-likelihoods of targets under rows of logits, and their running sums as
// llama-perplexity turns them into PPL and its +/- error.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "slmkit/perplexity.h"

namespace slmkit::eval {

// -log softmax(row)[target]: the exponentials summed in double, as llama-perplexity.
double token_nll(std::span<const float> row, int32_t target);
// The same from a row's maximum and its sum of exp(x - max) (in double, in row order), for passes
// that have them already: token_nll to the bit.
inline double nll_from_sum(float logit, float max_logit, double sum_exp) {
  return -(logit - max_logit - std::log(sum_exp));
}

// PPL = exp(mean NLL); the error is PPL times the standard error of the mean NLL,
// sqrt((mean(NLL^2) - mean(NLL)^2) / (count - 1)).
struct NllAccumulator {
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  void add(double v) {
    nll += v;
    nll2 += v * v;
    ++count;
  }
  double ppl() const;               // so far
  PerplexityResult result() const;  // ppl, ppl_error, n_scored
};

}  // namespace slmkit::eval
