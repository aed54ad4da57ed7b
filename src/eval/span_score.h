// The log-likelihood of a span of tokens given everything before it, from one evaluation through a
// logit source: what multiple-choice benchmarks score each ending by (lm-evaluation-harness's
// loglikelihood requests: the sum of log p over the ending's tokens, and whether each was the
// most likely one).
#pragma once

#include <cstdint>
#include <span>

#include "eval/logit_source.h"

namespace slmkit::eval {

struct SpanScore {
  double log_likelihood = 0;  // sum over the span of log p(tokens[i] | tokens[0, i))
  int64_t n_tokens = 0;
  bool greedy = true;  // every token of the span was the most likely one (ties: the lowest id)
};

// tokens[begin, end) scored from `logits` ([tokens.size(), n_vocab], row i predicting the token
// after tokens[i]); 1 <= begin <= end <= tokens.size(), else Error(invalid_input).
SpanScore score_span(std::span<const float> logits, int64_t n_vocab,
                     std::span<const int32_t> tokens, int64_t begin, int64_t end);
// The same after evaluating `tokens` (context, then the span to the end) through `source`.
SpanScore score_span(LogitSource& source, std::span<const int32_t> tokens, int64_t begin);

}  // namespace slmkit::eval
