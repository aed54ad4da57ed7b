#include "validate/reference.h"

#include <algorithm>

#include "core/stopwatch.h"
#include "slmkit/tokenizer.h"
#include "validate/checks.h"

namespace slmkit::validation {
namespace {

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

EngineRun run_engine(const Engine& engine, const std::vector<int32_t>& prompt, int64_t n,
                     const std::vector<int32_t>* teacher, int n_threads) {
  SessionOptions so;
  const int64_t teacher_n = teacher ? static_cast<int64_t>(teacher->size()) : 0;
  so.n_ctx = static_cast<int64_t>(prompt.size()) + std::max(n, teacher_n) + 1;
  so.kv_type = DType::F32;  // isolates the weights' precision from the cache's
  so.n_threads = n_threads;
  EngineRun r;
  {
    Session s(engine, so);
    auto logits = s.eval(prompt);
    double seconds = 0;
    for (int64_t i = 0; i < n; ++i) {
      r.greedy.push_back(argmax(logits));
      if (i + 1 == n) break;
      const Stopwatch step;
      logits = s.eval(std::vector<int32_t>{r.greedy.back()});
      seconds += step.seconds();
    }
    r.tokens_per_second = seconds > 0 ? static_cast<double>(n - 1) / seconds : 0;
  }
  if (teacher) {
    so.all_logits = true;
    Session s(engine, so);
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), teacher->begin(), teacher->end());
    const auto span = s.eval(all, true);
    r.logits.assign(span.begin(), span.end());
  }
  return r;
}

Reference::Reference(const Engine& engine, std::string name, int64_t n_compare, int n_threads,
                     bool widened_artifact)
    : engine_(engine),
      name_(std::move(name)),
      n_compare_(n_compare),
      n_threads_(n_threads),
      widened_artifact_(widened_artifact) {}

PrecisionBounds Reference::bounds(const std::string& precision) const {
  return widened_artifact_ ? bounds_for(precision) : comparison_bounds(precision, engine_.model());
}

const ReferenceRun& Reference::run(const std::vector<int32_t>& prompt) {
  auto it = runs_.find(prompt);
  if (it != runs_.end()) return it->second;
  ReferenceRun r;
  r.greedy = run_engine(engine_, prompt, n_compare_, nullptr, n_threads_).greedy;
  r.logits = run_engine(engine_, prompt, 1, &r.greedy, n_threads_).logits;
  return runs_.emplace(prompt, std::move(r)).first->second;
}

const TaskResult& Reference::task_result(const Task& task, const TaskEvalOptions& options) {
  if (!task_) task_ = evaluate_task(engine_, Tokenizer(engine_.model().vocab), task, options);
  return *task_;
}

}  // namespace slmkit::validation
