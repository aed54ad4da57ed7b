// Multiple-choice task accuracy, as llama.cpp's llama-perplexity scores --hellaswag, --winogrande
// and --multiple-choice: each candidate ending is appended to the item's context, the joined text
// is tokenized with the model's BOS, and the ending is scored by the mean log-probability of its
// tokens after the tokens all candidates share; the best-scoring candidate is the model's answer.
//
// Formats (the files llama.cpp reads, plus one for users' own tasks):
//   hellaswag  6 lines per item: context, the correct ending's index (0-3), four endings; the
//              text scored is context + " " + ending.
//   winogrande CSV lines "index,sentence,choice1,choice2,answer" (answer 1 or 2) where the
//              sentence holds one '_' that a choice replaces; scored as llama.cpp does (the words
//              after the blank, without the last token, unless the part after the shared tokens
//              is short). A first line that is a header (its answer is not a number) is skipped.
//   mc         llama.cpp's binary multiple-choice file: uint32 n, n uint32 offsets, then per item
//              a question, mc1 (n answers, n int32 labels) and mc2 (unused), strings as uint32
//              length + bytes; text = question + " " + answer; correct when the chosen answer's
//              label is 1.
//   jsonl      one object per line: {"prompt": str, "choices": [str, ...], "answer": int}, scored
//              as mc (prompt + " " + choice).
//
// Besides llama.cpp's score (which its output heads "acc_norm": per-token mean), two
// lm-evaluation-harness-style variants over the same tokens: `acc_sum` (sum of the ending's
// log-likelihood: lm-eval's "acc") and `acc_chars` (the sum divided by the ending's length in
// characters: lm-eval's "acc_norm"). They count the tokens after the shared ones; tokens every
// choice shares add the same amount to every sum, so acc_sum is unchanged by that.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slmkit/engine.h"
#include "slmkit/perplexity.h"
#include "slmkit/tokenizer.h"

namespace slmkit {

enum class TaskFormat { hellaswag, winogrande, multiple_choice, jsonl };

std::string_view task_format_name(TaskFormat format);  // "hellaswag", "winogrande", "mc", "jsonl"
// Error(invalid_input) listing the names for an unknown one.
TaskFormat parse_task_format(std::string_view name);

struct TaskItem {
  std::string context;  // hellaswag context, mc question, JSONL prompt, winogrande before '_'
  std::string suffix;   // winogrande: the sentence after '_'
  std::vector<std::string> choices;
  std::vector<bool> correct;  // per choice
  int64_t source = 0;         // 1-based line (text formats) or item number (mc)
};

struct Task {
  std::string name;  // the file's stem unless given
  TaskFormat format = TaskFormat::hellaswag;
  std::vector<TaskItem> items;
};

// Reads a task file. Without a format: ".jsonl" is jsonl, ".csv" winogrande, ".bin" mc, anything
// else hellaswag. Malformed input is an Error(invalid_input) naming the file, the line (or item)
// and the field; an answer index out of range is one too.
Task read_task(const std::filesystem::path& path, std::optional<TaskFormat> format = {});
Task parse_task(std::string_view bytes, TaskFormat format, std::string_view what);

// Writes `task` in `format` (temporary name, renamed): hellaswag needs four choices and one
// correct; winogrande is not written (its items do not keep the CSV's first column).
void write_task(const Task& task, TaskFormat format, const std::filesystem::path& path);

struct TaskProgress {
  int64_t done = 0, total = 0, correct = 0;
  double seconds = 0;
};

struct TaskEvalOptions {
  // Items to score: 0 is all. Fewer than the file holds picks them as llama.cpp does for the
  // format (its mt19937 seeded 1); hellaswag's are always taken in llama.cpp's random order.
  int64_t n_items = 0;
  int64_t n_ctx = 0;  // 0: the longest item's tokens
  int n_threads = 0;
  DType kv_type = DType::F16;
  std::function<void(const TaskProgress&)> on_item;
};

struct TaskItemScore {
  int64_t item = 0;           // index into Task::items
  std::vector<double> score;  // llama.cpp's per choice (mean log-probability per token)
  int64_t chosen = 0;         // argmax of score (the first on ties; winogrande: the second)
  bool correct = false;
  bool correct_sum = false;    // by the summed log-likelihood (not for winogrande)
  bool correct_chars = false;  // by the sum over the ending's characters (not for winogrande)
};

struct TaskResult {
  std::string name;
  TaskFormat format = TaskFormat::hellaswag;
  int64_t n_items = 0, n_correct = 0, n_choices = 0;
  double accuracy = 0, accuracy_error = 0;  // llama.cpp's; error sqrt(p (1 - p) / (n - 1))
  double acc_sum = 0, acc_sum_error = 0;
  double acc_chars = 0, acc_chars_error = 0;
  double random_chance = 0;          // n_items / n_choices
  std::vector<TaskItemScore> items;  // in the order scored
  double seconds = 0;

  // llama-perplexity's lines for the format (per-item running accuracy and its final lines).
  std::string to_llama_cpp_text() const;
  // One summary line per metric: "accuracy 61.2500 +/- 2.4400 % (400 items) ...".
  std::string summary() const;
  // One JSON object per scored item, in order: {"item", "source", "chosen", "correct",
  // "correct_sum", "correct_chars", "scores"}: for comparing two runs item by item.
  std::string items_jsonl(const Task& task) const;
};

// Paired comparison of two runs over the same items (same task, same n_items): the accuracy
// difference b - a and its standard error from the items whose correctness differs
// (sqrt(n01 + n10 - (n01 - n10)^2 / n) / n, McNemar's), far smaller than either run's own error
// when most answers agree. Error(invalid_input) when the runs scored different items.
struct TaskComparison {
  int64_t n_items = 0;
  int64_t only_a = 0, only_b = 0;  // items right in one run only
  int64_t changed = 0;             // items whose chosen answer differs
  double difference = 0, difference_error = 0;
};
TaskComparison compare_task_results(const TaskResult& a, const TaskResult& b);

// Scores `task` in our engine. Error(invalid_input) naming the item when a choice adds no token,
// or an item is longer than the model's context.
TaskResult evaluate_task(const Engine& engine, const Tokenizer& tokenizer, const Task& task,
                         const TaskEvalOptions& options);
// The same over another runtime's logits (each sequence from an empty context).
TaskResult evaluate_task(const ChunkLogits& logits, const Tokenizer& tokenizer, const Task& task,
                         const TaskEvalOptions& options);
// Through ONNX Runtime (the peer): `graph`, a no-cache graph (decoder_model*.onnx) of the export
// folder `export_dir`, every sequence in one pass. Error(unsupported) with the reason when ONNX
// Runtime is not available. The peer starts a process per sequence: seconds per item.
TaskResult evaluate_task_onnx(const std::filesystem::path& export_dir,
                              const std::filesystem::path& graph, const Tokenizer& tokenizer,
                              const Task& task, const TaskEvalOptions& options);

}  // namespace slmkit
