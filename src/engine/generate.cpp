// Prompt evaluation, then sample / evaluate one token at a time, streaming each token out.
#include <algorithm>

#include "core/fail.h"
#include "core/stopwatch.h"
#include "slmkit/engine.h"

namespace slmkit {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::length:
      return "length";
    case StopReason::end_of_generation:
      return "end of generation";
    case StopReason::callback:
      return "stopped by caller";
    case StopReason::context_full:
      return "context full";
  }
  return "?";
}

double GenerateResult::prompt_tokens_per_second() const {
  return prompt_seconds > 0 ? static_cast<double>(n_prompt) / prompt_seconds : 0.0;
}

double GenerateResult::decode_tokens_per_second() const {
  return decode_seconds > 0 ? static_cast<double>(n_decoded) / decode_seconds : 0.0;
}

GenerateResult generate(Session& session, std::span<const int32_t> prompt,
                        const GenerateOptions& options,
                        const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) fail_invalid("generate: the prompt has no tokens (add BOS at least)");
  std::vector<int32_t> stop_tokens = options.stop_tokens;
  if (stop_tokens.empty() && session.engine().config().eos_id >= 0) {
    stop_tokens.push_back(session.engine().config().eos_id);
  }
  auto is_stop = [&](int32_t id) {
    return std::find(stop_tokens.begin(), stop_tokens.end(), id) != stop_tokens.end();
  };

  GenerateResult result;
  result.n_prompt = static_cast<int64_t>(prompt.size());
  result.tokens.reserve(static_cast<size_t>(std::max<int64_t>(options.n_predict, 0)));
  Sampler sampler(options.sampling);
  for (int32_t id : prompt) sampler.accept(id);

  const Stopwatch t_prompt;
  std::span<const float> logits = session.eval(prompt);
  result.prompt_seconds = t_prompt.seconds();

  result.stop = StopReason::length;
  for (int64_t i = 0; i < options.n_predict; ++i) {
    const int32_t id = sampler.sample(logits);
    if (is_stop(id)) {
      result.stop = StopReason::end_of_generation;
      break;
    }
    sampler.accept(id);
    result.tokens.push_back(id);
    if (on_token && !on_token(id)) {
      result.stop = StopReason::callback;
      break;
    }
    if (i + 1 == options.n_predict) break;  // the last token needs no forward pass
    if (session.n_past() >= session.n_ctx()) {
      result.stop = StopReason::context_full;
      break;
    }
    const Stopwatch t_step;
    logits = session.eval(std::span<const int32_t>(&id, 1));
    result.decode_seconds += t_step.seconds();
    ++result.n_decoded;
  }
  return result;
}

}  // namespace slmkit
