// A task result as llama-perplexity prints it, and the runtime-neutral evaluate_task.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/fail.h"

#include "eval/task_score.h"

namespace slmkit {
namespace {

// printf, as llama.cpp formats its lines (fmt's rounding of %lf can differ in the last digit).
template <typename... Args>
void append(std::string& out, const char* format, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, args...);
  out += buf;
}

}  // namespace

std::string TaskResult::to_llama_cpp_text() const {
  std::string out;
  int64_t correct = 0;
  if (format == TaskFormat::hellaswag) {
    out += "\ntask\tacc_norm\t95% confidence interval\n";
    for (size_t i = 0; i < items.size(); ++i) {
      correct += items[i].correct;
      const double n = static_cast<double>(i + 1);
      const double freq = static_cast<double>(correct) / n;
      // The Wilson score interval llama.cpp prints.
      const double za = 1.95996398454;
      const double z = za * za / n;
      const double cnf = z * std::sqrt(n * (4.0 * freq * (1 - freq) + z)) / (za + za);
      const double a = (freq + z * 0.5 - cnf) / (1.0 + z);
      const double b = (freq + z * 0.5 + cnf) / (1.0 + z);
      append(out, "%zu\t%3.8lf%%\t[%3.4lf%%, %3.4lf%%]\n", i + 1, freq * 100.0, a * 100.0,
             b * 100.0);
    }
    out += "\n";
    return out;
  }
  if (format == TaskFormat::winogrande) {
    for (size_t i = 0; i < items.size(); ++i) {
      correct += items[i].correct;
      const int answer = items[i].correct ? static_cast<int>(items[i].chosen) + 1
                                          : 2 - static_cast<int>(items[i].chosen);
      append(out, "%zu\t%.4lf\t%10.6f  %10.6f  %d  %d\n", i + 1,
             100.0 * static_cast<double>(correct) / static_cast<double>(i + 1), items[i].score[0],
             items[i].score[1], static_cast<int>(items[i].chosen) + 1, answer);
    }
    out += "\n";
    if (n_items >= 100) {
      const float p = static_cast<float>(n_correct) / static_cast<float>(n_items);
      const float sigma = 100.f * std::sqrt(p * (1 - p) / static_cast<float>(n_items - 1));
      append(out, "Final Winogrande score(%d tasks): %.4lf +/- %.4lf\n", static_cast<int>(n_items),
             static_cast<double>(100 * p), static_cast<double>(sigma));
    }
    return out;
  }
  out += "\ntask\tacc_norm\n";
  for (size_t i = 0; i < items.size(); ++i) {
    correct += items[i].correct;
    append(out, "%d\t%.8lf\n", static_cast<int>(i + 1),
           100. * static_cast<double>(correct) / static_cast<double>(i + 1));
  }
  out += "\n";
  const auto final_line = [&](const char* label, int64_t hits, int64_t n) {
    const float p = static_cast<float>(hits) / static_cast<float>(n);
    const float sigma = n > 1 ? std::sqrt(p * (1 - p) / static_cast<float>(n_items - 1)) : 0.f;
    append(out, "%s: %.4f +/- %.4f\n", label, static_cast<double>(100.f * p),
           static_cast<double>(100.f * sigma));
  };
  final_line("Final result", n_correct, n_items);
  final_line("Random chance", n_items, n_choices);
  return out;
}

std::string TaskResult::summary() const {
  std::string out = fmt::format(
      "task {} ({}): {} items, {:.1f} choices each, {:.2f} s\n", name, task_format_name(format),
      n_items, static_cast<double>(n_choices) / static_cast<double>(n_items), seconds);
  out += fmt::format(
      "accuracy   {:.4f} +/- {:.4f} %  (llama.cpp's: mean log-probability per "
      "token of each ending)\n",
      100 * accuracy, 100 * accuracy_error);
  if (format != TaskFormat::winogrande) {
    out += fmt::format("acc_sum    {:.4f} +/- {:.4f} %  (summed log-likelihood)\n", 100 * acc_sum,
                       100 * acc_sum_error);
    out += fmt::format(
        "acc_chars  {:.4f} +/- {:.4f} %  (log-likelihood per character of the "
        "ending)\n",
        100 * acc_chars, 100 * acc_chars_error);
  }
  out += fmt::format("chance     {:.4f} %\n", 100 * random_chance);
  return out;
}

std::string TaskResult::items_jsonl(const Task& task) const {
  std::string out;
  for (const TaskItemScore& s : items) {
    out += nlohmann::json{{"item", s.item},
                          {"source", task.items.at(static_cast<size_t>(s.item)).source},
                          {"chosen", s.chosen},
                          {"correct", s.correct},
                          {"correct_sum", s.correct_sum},
                          {"correct_chars", s.correct_chars},
                          {"scores", s.score}}
               .dump();
    out += '\n';
  }
  return out;
}

TaskComparison compare_task_results(const TaskResult& a, const TaskResult& b) {
  if (a.items.size() != b.items.size()) {
    fail_invalid("compare task results: {} items against {}", a.items.size(), b.items.size());
  }
  TaskComparison c;
  c.n_items = static_cast<int64_t>(a.items.size());
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (a.items[i].item != b.items[i].item) {
      fail_invalid("compare task results: scored item {} is item {} in one run, {} in the other",
                   i + 1, a.items[i].item, b.items[i].item);
    }
    c.only_a += a.items[i].correct && !b.items[i].correct;
    c.only_b += b.items[i].correct && !a.items[i].correct;
    c.changed += a.items[i].chosen != b.items[i].chosen;
  }
  if (c.n_items == 0) return c;
  const auto n = static_cast<double>(c.n_items);
  const auto d = static_cast<double>(c.only_b - c.only_a);
  c.difference = d / n;
  c.difference_error =
      std::sqrt(std::max(0.0, static_cast<double>(c.only_a + c.only_b) - d * d / n)) / n;
  return c;
}

TaskResult evaluate_task(const ChunkLogits& logits, const Tokenizer& tokenizer, const Task& task,
                         const TaskEvalOptions& options) {
  const eval::PreparedTask prepared = eval::prepare_task(tokenizer, task, options.n_items);
  eval::FunctionLogits source(logits);
  return eval::score_task(source, task, prepared, options);
}

}  // namespace slmkit
