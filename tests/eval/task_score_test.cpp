// Multiple-choice scoring (eval/task_score.h) over a fake logit source whose log-probabilities
// are known in closed form: which tokens count (after the ones every choice shares), the mean,
// the sum and per-character variants, and llama.cpp's winogrande rules.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "eval/task_score.h"
#include "slmkit/error.h"
#include "slmkit/task_eval.h"
#include "slmkit/tokenizer.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

// Row i's logit for token v is a fixed function of (tokens[i], v), so log p(next | prev) is known
// in closed form and no two choices tie.
float fake_logit(int32_t prev, int64_t v) {
  return static_cast<float>((prev * 7 + v * 13) % 17) / 4.f;
}

class Fake {
 public:
  explicit Fake(int64_t n_vocab) : n_vocab_(n_vocab) {}
  ChunkLogits source() {
    return [this](std::span<const int32_t> tokens) {
      ++calls;
      rows_.resize(tokens.size() * static_cast<size_t>(n_vocab_));
      for (size_t i = 0; i < tokens.size(); ++i) {
        for (int64_t v = 0; v < n_vocab_; ++v) {
          rows_[i * static_cast<size_t>(n_vocab_) + static_cast<size_t>(v)] =
              fake_logit(tokens[i], v);
        }
      }
      return std::span<const float>(rows_);
    };
  }
  double log_p(int32_t prev, int32_t next) const {
    double z = 0;
    for (int64_t v = 0; v < n_vocab_; ++v) z += std::exp(static_cast<double>(fake_logit(prev, v)));
    return static_cast<double>(fake_logit(prev, next)) - std::log(z);
  }
  int calls = 0;

 private:
  int64_t n_vocab_;
  std::vector<float> rows_;
};

Tokenizer bundled_tokenizer() {
  return Tokenizer::from_path(testing::source_dir() / "models/stories3M-F16.gguf");
}

size_t shared_prefix(const std::vector<std::vector<int32_t>>& seqs) {
  size_t k = 0;
  while (true) {
    for (const auto& s : seqs) {
      if (k >= s.size() || s[k] != seqs[0][k]) return k;
    }
    ++k;
  }
}

TEST(TaskScore, MeanSumAndPerCharacterOverTheTokensAfterTheSharedOnes) {
  const Tokenizer tok = bundled_tokenizer();
  Task task;
  task.name = "t";
  TaskItem item;
  item.context = "The cat sat on the";
  item.choices = {"mat.", "big red mat.", "dog"};
  item.correct = {false, true, false};
  task.items = {item};
  Fake fake(static_cast<int64_t>(tok.size()));
  const TaskResult r = evaluate_task(fake.source(), tok, task, {});
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(fake.calls, 3);  // each choice's sequence once

  std::vector<std::vector<int32_t>> seqs;
  for (const auto& c : item.choices) seqs.push_back(tok.encode(item.context + " " + c, true));
  const size_t cp = shared_prefix(seqs);
  ASSERT_GE(cp, 1u);
  std::vector<double> mean, sum, per_char;
  for (size_t c = 0; c < seqs.size(); ++c) {
    double ll = 0;
    for (size_t i = cp; i < seqs[c].size(); ++i) ll += fake.log_p(seqs[c][i - 1], seqs[c][i]);
    sum.push_back(ll);
    mean.push_back(ll / static_cast<double>(seqs[c].size() - cp));
    per_char.push_back(ll / static_cast<double>(item.choices[c].size()));
    // The same tokens through the driver; the rows are floats, log-softmax in double.
    EXPECT_NEAR(r.items[0].score[c], mean.back(), 1e-5) << c;
  }
  auto argmax = [](const std::vector<double>& v) {
    return std::max_element(v.begin(), v.end()) - v.begin();
  };
  EXPECT_EQ(r.items[0].chosen, argmax(mean));
  EXPECT_EQ(r.items[0].correct, argmax(mean) == 1);
  EXPECT_EQ(r.items[0].correct_sum, argmax(sum) == 1);
  EXPECT_EQ(r.items[0].correct_chars, argmax(per_char) == 1);
  EXPECT_DOUBLE_EQ(r.random_chance, 1.0 / 3.0);
}

TEST(TaskScore, WinograndeTakesLlamaCppsRowsAndTokens) {
  const Tokenizer tok = bundled_tokenizer();
  Task task;
  task.name = "w";
  task.format = TaskFormat::winogrande;
  TaskItem item;
  // Short after the shared tokens: nothing skipped, and llama.cpp scores the second choice's
  // first token from the row after the first sequence's last token.
  item.context = "He gave it to ";
  item.choices = {"A", "B"};
  item.suffix = ".";
  item.correct = {true, false};
  task.items = {item};
  Fake fake(static_cast<int64_t>(tok.size()));
  const TaskResult r = evaluate_task(fake.source(), tok, task, {});
  const auto s0 = tok.encode("He gave it to A.", true);
  const auto s1 = tok.encode("He gave it to B.", true);
  const size_t cp = shared_prefix({s0, s1});
  ASSERT_LE(s0.size() - cp, 3u) << "the item must be short for this case";
  // Targets [cp, len - 1): the last token is left out when more than one would count.
  auto expected = [&](const std::vector<int32_t>& s, bool second) {
    const size_t last = s.size() - cp > 1 ? 1 : 0;
    double ll = 0;
    for (size_t i = cp; i < s.size() - last; ++i) {
      const int32_t prev = (second && i == cp) ? s0.back() : s[i - 1];
      ll += fake.log_p(prev, s[i]);
    }
    return ll / static_cast<double>(s.size() - cp - last);
  };
  EXPECT_NEAR(r.items[0].score[0], expected(s0, false), 1e-5);
  EXPECT_NEAR(r.items[0].score[1], expected(s1, true), 1e-5);
}

TEST(TaskScore, AChoiceThatAddsNoTokenIsNamed) {
  const Tokenizer tok = bundled_tokenizer();
  Task task;
  task.name = "t";
  task.format = TaskFormat::jsonl;
  TaskItem item;
  item.context = "a b";
  item.choices = {"c", "c"};
  item.correct = {true, false};
  item.source = 4;
  task.items = {item};
  Fake fake(static_cast<int64_t>(tok.size()));
  const Error e = testing::expect_error([&] { evaluate_task(fake.source(), tok, task, {}); });
  EXPECT_TRUE(testing::contains(e, "t: line 4: choice 1 adds no token")) << e.what();
}

TEST(TaskScore, PairedComparisonCountsTheItemsThatChanged) {
  // 10 items: a right on 0-5, b right on 0-3 and 6-8; b's answer differs on 4, 5, 6, 7, 8.
  TaskResult a, b;
  for (int64_t i = 0; i < 10; ++i) {
    TaskItemScore s;
    s.item = i;
    s.correct = i < 6;
    s.chosen = s.correct ? 0 : 1;
    a.items.push_back(s);
    s.correct = i < 4 || (i >= 6 && i < 9);
    s.chosen = s.correct ? 0 : (i == 9 ? 1 : 2);
    b.items.push_back(s);
  }
  const TaskComparison c = compare_task_results(a, b);
  EXPECT_EQ(c.only_a, 2);
  EXPECT_EQ(c.only_b, 3);
  EXPECT_EQ(c.changed, 5);
  EXPECT_DOUBLE_EQ(c.difference, 0.1);
  // Per-item differences: three +1, two -1, five 0: variance 0.5 - 0.01, error sqrt(0.49 / 10).
  EXPECT_NEAR(c.difference_error, std::sqrt(0.49 / 10), 1e-12);
  b.items[3].item = 7;
  EXPECT_TRUE(testing::contains(testing::expect_error([&] { compare_task_results(a, b); }),
                                "scored item 4 is item 3 in one run, 7 in the other"));
}

}  // namespace
}  // namespace slmkit
