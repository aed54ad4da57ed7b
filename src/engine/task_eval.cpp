// Task accuracy in our engine: the evaluation driver's scoring over the engine as a logit source.
#include "core/fail.h"
#include "engine/engine_logits.h"
#include "eval/task_score.h"

namespace slmkit {

TaskResult evaluate_task(const Engine& engine, const Tokenizer& tokenizer, const Task& task,
                         const TaskEvalOptions& options) {
  const eval::PreparedTask prepared = eval::prepare_task(tokenizer, task, options.n_items);
  const int64_t n_ctx = options.n_ctx > 0 ? options.n_ctx : prepared.max_tokens;
  const int64_t limit = engine.config().context_length;
  if (prepared.max_tokens > n_ctx || (limit > 0 && n_ctx > limit)) {
    fail_invalid("{}: the longest item is {} tokens; the context is {} (the model's {})", task.name,
                 prepared.max_tokens, n_ctx, limit);
  }
  engine::EngineLogits source(engine, n_ctx, options.n_threads, options.kv_type);
  return eval::score_task(source, task, prepared, options);
}

}  // namespace slmkit
