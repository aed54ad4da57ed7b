// The FP32 reference a functional check compares an artifact with: its greedy continuation of the
// prompt and its logits over prompt + continuation, run in our engine (F32 KV cache, which
// isolates the weights' precision from the cache's). Computed once per prompt and kept, so a
// pipeline that validates several artifacts of one model runs the reference once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "slmkit/engine.h"
#include "slmkit/task_eval.h"

namespace slmkit::validation {

struct PrecisionBounds;  // validate/checks.h

struct EngineRun {
  std::vector<int32_t> greedy;
  std::vector<float> logits;  // over prompt + teacher, when a teacher was given
  double tokens_per_second = 0;
};

// Greedy continuation of `prompt` (n tokens, the single-token passes timed), then, when
// `teacher` is given, the logits of every position of prompt + teacher.
EngineRun run_engine(const Engine& engine, const std::vector<int32_t>& prompt, int64_t n,
                     const std::vector<int32_t>* teacher, int n_threads);

struct ReferenceRun {
  std::vector<int32_t> greedy;  // n_compare tokens
  std::vector<float> logits;    // [prompt + greedy, vocab]
};

class Reference {
 public:
  // `engine` must outlive this; `name` is what reports call it. `widened_artifact`: the engine
  // holds the artifact itself widened to F32 (no reference model was given).
  Reference(const Engine& engine, std::string name, int64_t n_compare, int n_threads,
            bool widened_artifact = false);
  const std::string& name() const { return name_; }
  // The bounds an artifact of `precision` is held to against this reference: a reference model's
  // own precision widens them (comparison_bounds); the artifact widened keeps bounds_for's.
  PrecisionBounds bounds(const std::string& precision) const;
  int64_t vocab_size() const { return engine_.config().vocab_size; }
  // The run for `prompt`, computed on first use.
  const ReferenceRun& run(const std::vector<int32_t>& prompt);
  // The reference's score on `task` (one task per reference), computed on first use, with its
  // own vocabulary.
  const TaskResult& task_result(const Task& task, const TaskEvalOptions& options);

 private:
  const Engine& engine_;
  std::string name_;
  int64_t n_compare_;
  int n_threads_;
  bool widened_artifact_;
  std::map<std::vector<int32_t>, ReferenceRun> runs_;
  std::optional<TaskResult> task_;
};

}  // namespace slmkit::validation
