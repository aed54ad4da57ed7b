#include "eval/nll.h"

#include <algorithm>
#include <cmath>

namespace slmkit::eval {

double token_nll(std::span<const float> row, int32_t target) {
  const float max_logit = *std::max_element(row.begin(), row.end());
  double sum_exp = 0;
  for (float v : row) sum_exp += std::exp(v - max_logit);
  return nll_from_sum(row[static_cast<size_t>(target)], max_logit, sum_exp);
}

double NllAccumulator::ppl() const {
  return std::exp(nll / static_cast<double>(count));
}

PerplexityResult NllAccumulator::result() const {
  PerplexityResult r;
  if (count == 0) return r;
  const double mean = nll / static_cast<double>(count);
  const double var = nll2 / static_cast<double>(count) - mean * mean;
  r.ppl = std::exp(mean);
  r.ppl_error = var > 0 && count > 1 ? std::sqrt(var / static_cast<double>(count - 1)) * r.ppl : 0;
  r.n_scored = count;
  return r;
}

}  // namespace slmkit::eval
