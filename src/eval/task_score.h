// Multiple-choice scoring over a logit source (eval/logit_source.h): items chosen and tokenized as
// llama-perplexity does, every candidate sequence evaluated from an empty context, each ending's
// log-likelihood taken by score_span (eval/span_score.h).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "eval/logit_source.h"
#include "slmkit/task_eval.h"

namespace slmkit::eval {

struct PreparedItem {
  int64_t item = 0;                        // index into Task::items
  std::vector<std::vector<int32_t>> seqs;  // one per choice, BOS first when the model adds it
  int64_t common = 0;                      // tokens every sequence starts with
  std::array<int64_t, 2> n_base{};         // winogrande: tokens of context + choice
};

struct PreparedTask {
  std::vector<PreparedItem> items;  // in the order llama.cpp scores them
  int64_t max_tokens = 0;           // the longest sequence
};

// The indices llama-perplexity scores for `n_items` (0: all) of `n_total`, in its order: its
// mt19937 seeded 1, hellaswag drawing uniform_int_distribution over what is left, the others
// scaling the raw draw (as its winogrande and multiple-choice code do).
std::vector<int64_t> select_items(TaskFormat format, int64_t n_total, int64_t n_items);

// Error(invalid_input) naming the item (its line or number) when the choices share no first
// token or a choice adds no token of its own.
PreparedTask prepare_task(const Tokenizer& tokenizer, const Task& task, int64_t n_items);

TaskResult score_task(LogitSource& source, const Task& task, const PreparedTask& prepared,
                      const TaskEvalOptions& options);

}  // namespace slmkit::eval
