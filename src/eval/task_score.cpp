#include "eval/task_score.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "core/fail.h"
#include "eval/nll.h"
#include "eval/span_score.h"

namespace slmkit::eval {
namespace {

// A task is named by where it is in its file: a line for the text formats, a number for mc.
std::string where(const Task& task, const TaskItem& item) {
  return task.format == TaskFormat::multiple_choice ? fmt::format("item {}", item.source)
                                                    : fmt::format("line {}", item.source);
}

int64_t utf8_chars(std::string_view s) {
  return std::count_if(s.begin(), s.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::string joined(const Task& task, const TaskItem& item, size_t c) {
  if (task.format == TaskFormat::winogrande) return item.context + item.choices[c] + item.suffix;
  return item.context + " " + item.choices[c];
}

double fraction_error(int64_t hits, int64_t n) {
  if (n < 2) return 0;
  const double p = static_cast<double>(hits) / static_cast<double>(n);
  return std::sqrt(p * (1 - p) / static_cast<double>(n - 1));
}

TaskItemScore score_choices(LogitSource& source, const TaskItem& item, const PreparedItem& p) {
  TaskItemScore s;
  s.item = p.item;
  const size_t n = p.seqs.size();
  std::vector<double> sums(n), per_char(n);
  for (size_t c = 0; c < n; ++c) {
    const std::vector<int32_t>& seq = p.seqs[c];
    const std::span<const float> logits = source.logits(seq);
    const auto len = static_cast<int64_t>(seq.size());
    const SpanScore span =
        score_span(logits, static_cast<int64_t>(logits.size()) / len, seq, p.common, len);
    s.score.push_back(span.log_likelihood / static_cast<double>(span.n_tokens));
    sums[c] = span.log_likelihood;
    per_char[c] = span.log_likelihood /
                  static_cast<double>(std::max<int64_t>(utf8_chars(item.choices[c]), 1));
  }
  // The first of equal maxima, as llama.cpp's strict '>' scan.
  auto argmax = [](const std::vector<double>& v) {
    return static_cast<int64_t>(std::max_element(v.begin(), v.end()) - v.begin());
  };
  s.chosen = argmax(s.score);
  s.correct = item.correct[static_cast<size_t>(s.chosen)];
  s.correct_sum = item.correct[static_cast<size_t>(argmax(sums))];
  s.correct_chars = item.correct[static_cast<size_t>(argmax(per_char))];
  return s;
}

// llama.cpp's winogrande: when both sequences run more than 3 tokens past the shared ones, only
// the words after the choice count (the choice itself is skipped); otherwise everything after
// the shared tokens does. The last token is left out when more than one would be scored.
// llama.cpp evaluates both sequences in one batch (the shared tokens once) and finds the second
// sequence's rows by an offset that is right only past the shared tokens: the row for a target
// at or before them is taken from the first sequence's rows (for the first target after the
// shared tokens, the row after the first sequence's last token: its "FIXME: wrong first
// logits"). The same rows are used here so the numbers are its. (Where its offset would fall
// before the item's rows, which llama.cpp reads from another item, the right row is used.)
TaskItemScore score_winogrande(LogitSource& source, const Task& task, const TaskItem& item,
                               const PreparedItem& p) {
  constexpr int64_t kMinTrailing = 3;
  const int64_t cp = p.common;
  const auto len0 = static_cast<int64_t>(p.seqs[0].size());
  const auto len1 = static_cast<int64_t>(p.seqs[1].size());
  const bool skip_choice = len0 - cp > kMinTrailing && len1 - cp > kMinTrailing;
  std::array<double, 2> score{};
  std::vector<float> rows0;  // the first sequence's logits, which the second borrows
  int64_t n_vocab = 0;
  for (size_t c = 0; c < 2; ++c) {
    const std::vector<int32_t>& seq = p.seqs[c];
    const auto len = static_cast<int64_t>(seq.size());
    const int64_t base = skip_choice ? p.n_base[c] : cp;
    const int64_t last = len - base > 1 ? 1 : 0;
    const int64_t end = len - last;
    if (base < 1 || end <= base) {
      fail_invalid("{}: {}: choice {} leaves no token to score after it", task.name,
                   where(task, item), c + 1);
    }
    const std::span<const float> logits = source.logits(seq);
    n_vocab = static_cast<int64_t>(logits.size()) / len;
    if (c == 0) rows0.assign(logits.begin(), logits.end());
    auto row_of = [&](std::span<const float> rows, int64_t i) {
      return rows.subspan(static_cast<size_t>(i * n_vocab), static_cast<size_t>(n_vocab));
    };
    double ll = 0;
    for (int64_t t = base; t < end; ++t) {
      const int64_t j = t - 1;  // the row predicting seq[t] is position j's
      // llama.cpp's batch index for the second sequence: 0 is the last shared token, 1 ..
      // len0 - cp the first sequence's tokens from cp, then the second's.
      const int64_t k = len0 - 2 * cp + 1 + j;
      std::span<const float> row = row_of(logits, j);
      if (c == 1 && k >= 0 && k <= len0 - cp) row = row_of(rows0, k == 0 ? cp - 1 : cp + k - 1);
      const int32_t target = seq[static_cast<size_t>(t)];
      if (target < 0 || target >= n_vocab) {
        fail_invalid("{}: {}: token {} outside the vocabulary of {}", task.name, where(task, item),
                     target, n_vocab);
      }
      ll -= token_nll(row, target);
    }
    // llama.cpp sums and divides in float.
    score[c] = static_cast<float>(ll) / static_cast<float>(end - base);
  }
  TaskItemScore s;
  s.item = p.item;
  s.score = {score[0], score[1]};
  s.chosen = static_cast<float>(score[0]) > static_cast<float>(score[1]) ? 0 : 1;
  s.correct = item.correct[static_cast<size_t>(s.chosen)];
  return s;
}

}  // namespace

std::vector<int64_t> select_items(TaskFormat format, int64_t n_total, int64_t n_items) {
  const bool all = n_items <= 0 || n_items >= n_total;
  const int64_t n = all ? n_total : n_items;
  std::vector<int64_t> order;
  std::mt19937 rng(1);
  if (format == TaskFormat::hellaswag) {
    std::vector<int64_t> left(static_cast<size_t>(n_total));
    for (int64_t i = 0; i < n_total; ++i) left[static_cast<size_t>(i)] = i;
    for (int64_t i = 0; i < n; ++i) {
      std::uniform_int_distribution<size_t> dist(0, left.size() - 1);
      const size_t k = dist(rng);
      order.push_back(left[k]);
      left.erase(left.begin() + static_cast<std::ptrdiff_t>(k));
    }
    return order;
  }
  if (all) {
    for (int64_t i = 0; i < n_total; ++i) order.push_back(i);
    return order;
  }
  std::vector<int64_t> aux(static_cast<size_t>(n_total));
  for (int64_t i = 0; i < n_total; ++i) aux[static_cast<size_t>(i)] = i;
  const float scale = 1.f / (1.f + static_cast<float>(std::mt19937::max()));
  for (int64_t i = 0; i < n; ++i) {
    // (A draw that rounds up to 1.0 would index past the end in llama.cpp; kept inside here.)
    const auto j = std::min(
        static_cast<size_t>(scale * static_cast<float>(rng()) * static_cast<float>(aux.size())),
        aux.size() - 1);
    order.push_back(aux[j]);
    aux[j] = aux.back();
    aux.pop_back();
  }
  return order;
}

PreparedTask prepare_task(const Tokenizer& tokenizer, const Task& task, int64_t n_items) {
  PreparedTask prepared;
  for (const int64_t index :
       select_items(task.format, static_cast<int64_t>(task.items.size()), n_items)) {
    const TaskItem& item = task.items[static_cast<size_t>(index)];
    if (item.choices.size() < 2 || item.correct.size() != item.choices.size()) {
      fail_invalid("{}: {}: {} choices with {} answer flags; at least 2 choices needed", task.name,
                   where(task, item), item.choices.size(), item.correct.size());
    }
    PreparedItem p;
    p.item = index;
    for (size_t c = 0; c < item.choices.size(); ++c) {
      p.seqs.push_back(tokenizer.encode(joined(task, item, c), true));
      if (task.format == TaskFormat::winogrande && c < 2) {
        p.n_base[c] =
            static_cast<int64_t>(tokenizer.encode(item.context + item.choices[c], true).size());
      }
    }
    size_t min_len = p.seqs[0].size();
    for (const auto& s : p.seqs) min_len = std::min(min_len, s.size());
    size_t common = 0;
    while (common < min_len && std::all_of(p.seqs.begin(), p.seqs.end(), [&](const auto& s) {
             return s[common] == p.seqs[0][common];
           })) {
      ++common;
    }
    if (common == 0) {
      fail_invalid(
          "{}: {}: the choices share no first token (a model without BOS needs a "
          "context that tokenizes the same before every choice)",
          task.name, where(task, item));
    }
    for (size_t c = 0; c < p.seqs.size(); ++c) {
      if (p.seqs[c].size() <= common) {
        fail_invalid("{}: {}: choice {} adds no token to what every choice shares", task.name,
                     where(task, item), c + 1);
      }
      prepared.max_tokens = std::max(prepared.max_tokens, static_cast<int64_t>(p.seqs[c].size()));
    }
    p.common = static_cast<int64_t>(common);
    prepared.items.push_back(std::move(p));
  }
  return prepared;
}

TaskResult score_task(LogitSource& source, const Task& task, const PreparedTask& prepared,
                      const TaskEvalOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult r;
  r.name = task.name;
  r.format = task.format;
  int64_t n_sum = 0, n_chars = 0;
  for (const PreparedItem& p : prepared.items) {
    const TaskItem& item = task.items[static_cast<size_t>(p.item)];
    TaskItemScore s = task.format == TaskFormat::winogrande
                          ? score_winogrande(source, task, item, p)
                          : score_choices(source, item, p);
    ++r.n_items;
    r.n_choices += static_cast<int64_t>(item.choices.size());
    r.n_correct += s.correct;
    n_sum += s.correct_sum;
    n_chars += s.correct_chars;
    r.items.push_back(std::move(s));
    if (options.on_item) {
      TaskProgress progress;
      progress.done = r.n_items;
      progress.total = static_cast<int64_t>(prepared.items.size());
      progress.correct = r.n_correct;
      progress.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      options.on_item(progress);
    }
  }
  if (r.n_items == 0) fail_invalid("{}: no items to score", task.name);
  const auto n = static_cast<double>(r.n_items);
  r.accuracy = static_cast<double>(r.n_correct) / n;
  r.accuracy_error = fraction_error(r.n_correct, r.n_items);
  if (task.format != TaskFormat::winogrande) {
    r.acc_sum = static_cast<double>(n_sum) / n;
    r.acc_sum_error = fraction_error(n_sum, r.n_items);
    r.acc_chars = static_cast<double>(n_chars) / n;
    r.acc_chars_error = fraction_error(n_chars, r.n_items);
  }
  r.random_chance = n / static_cast<double>(r.n_choices);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace slmkit::eval
