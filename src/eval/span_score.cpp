#include "eval/span_score.h"

#include <algorithm>

#include "core/fail.h"
#include "eval/nll.h"

namespace slmkit::eval {

SpanScore score_span(std::span<const float> logits, int64_t n_vocab,
                     std::span<const int32_t> tokens, int64_t begin, int64_t end) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (begin < 1 || begin > end || end > n) {
    fail_invalid("score span: [{}, {}) of {} tokens; the span needs a token before it", begin, end,
                 n);
  }
  if (n_vocab <= 0 || static_cast<int64_t>(logits.size()) != n * n_vocab) {
    fail_invalid("score span: {} logits for {} tokens of a vocabulary of {}", logits.size(), n,
                 n_vocab);
  }
  SpanScore s;
  for (int64_t i = begin; i < end; ++i) {
    const auto row =
        logits.subspan(static_cast<size_t>((i - 1) * n_vocab), static_cast<size_t>(n_vocab));
    const int32_t target = tokens[static_cast<size_t>(i)];
    if (target < 0 || target >= n_vocab) {
      fail_invalid("score span: token {} at {} is outside the vocabulary of {}", target, i,
                   n_vocab);
    }
    s.log_likelihood -= token_nll(row, target);
    s.greedy &= std::max_element(row.begin(), row.end()) - row.begin() == target;
    ++s.n_tokens;
  }
  return s;
}

SpanScore score_span(LogitSource& source, std::span<const int32_t> tokens, int64_t begin) {
  const std::span<const float> logits = source.logits(tokens);
  const auto n = static_cast<int64_t>(tokens.size());
  return score_span(logits, n > 0 ? static_cast<int64_t>(logits.size()) / n : 0, tokens, begin, n);
}

}  // namespace slmkit::eval
