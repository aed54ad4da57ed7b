// Task files: llama-perplexity's three formats and JSONL, read with every length and index checked
// against what is there, so a damaged file is an error naming its line (or item) and field.
#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "slmkit/task_eval.h"

namespace slmkit {
namespace {

// The lines of a text file as llama.cpp sees them after `-f`, which drops one trailing newline:
// split on '\n', the last line kept even when empty only if a newline did not end the file.
std::vector<std::string_view> split_lines(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::vector<std::string_view> lines;
  if (text.empty()) return lines;
  size_t start = 0;
  while (true) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
}

std::string_view trim_cr(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

// A whole non-negative decimal integer, or nullopt.
std::optional<int64_t> parse_index(std::string_view s) {
  s = trim_cr(s);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Task parse_hellaswag(std::string_view bytes, std::string_view what) {
  const std::vector<std::string_view> lines = split_lines(bytes);
  if (lines.size() % 6 != 0) {
    fail_invalid(
        "{}: {} lines, not a multiple of 6 (hellaswag: context, answer, four endings per item); "
        "the last item starts at line {}",
        what, lines.size(), lines.size() / 6 * 6 + 1);
  }
  Task task;
  for (size_t i = 0; i < lines.size(); i += 6) {
    TaskItem item;
    item.source = static_cast<int64_t>(i + 1);
    item.context = std::string(lines[i]);
    const std::optional<int64_t> answer = parse_index(lines[i + 1]);
    if (!answer) {
      fail_invalid("{}: line {}: field 'answer' is '{}', expected 0, 1, 2 or 3", what, i + 2,
                   lines[i + 1]);
    }
    if (*answer > 3) {
      fail_invalid("{}: line {}: field 'answer' is {}, out of range for 4 endings (0-3)", what,
                   i + 2, *answer);
    }
    for (size_t j = 0; j < 4; ++j) {
      item.choices.emplace_back(lines[i + 2 + j]);
      item.correct.push_back(static_cast<int64_t>(j) == *answer);
    }
    task.items.push_back(std::move(item));
  }
  return task;
}

Task parse_winogrande(std::string_view bytes, std::string_view what) {
  const std::vector<std::string_view> lines = split_lines(bytes);
  Task task;
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string_view line = trim_cr(lines[n]);
    const size_t line_no = n + 1;
    if (line.empty()) continue;
    // The first four commas outside double quotes, as llama.cpp splits the line.
    std::array<size_t, 4> comma{};
    size_t found = 0;
    bool quoted = false;
    for (size_t i = 0; i < line.size() && found < 4; ++i) {
      if (line[i] == '"') {
        quoted = !quoted;
      } else if (line[i] == ',' && !quoted) {
        comma[found++] = i;
      }
    }
    if (found != 4) {
      fail_invalid(
          "{}: line {}: {} field separators, expected index,sentence,choice1,choice2,answer", what,
          line_no, found);
    }
    const std::string_view answer_text = line.substr(comma[3] + 1);
    const std::optional<int64_t> answer = parse_index(answer_text);
    if (!answer) {
      if (n == 0) continue;  // a header line ("index,sentence,option1,option2,answer")
      fail_invalid("{}: line {}: field 'answer' is '{}', expected 1 or 2", what, line_no,
                   answer_text);
    }
    if (*answer < 1 || *answer > 2) {
      fail_invalid("{}: line {}: field 'answer' is {}, out of range (1 or 2)", what, line_no,
                   *answer);
    }
    std::string_view sentence = line.substr(comma[0] + 1, comma[1] - comma[0] - 1);
    if (!sentence.empty() && sentence.front() == '"') {
      // llama.cpp drops the field's first and last characters: they must be its quotes.
      if (sentence.size() < 2 || sentence.back() != '"') {
        fail_invalid("{}: line {}: field 'sentence' opens a quote it does not close", what,
                     line_no);
      }
      sentence = sentence.substr(1, sentence.size() - 2);
    }
    const size_t blank = sentence.find('_');
    if (blank == std::string_view::npos) {
      fail_invalid("{}: line {}: field 'sentence' has no '_' for the choice to fill", what,
                   line_no);
    }
    TaskItem item;
    item.source = static_cast<int64_t>(line_no);
    item.context = std::string(sentence.substr(0, blank));
    item.suffix = std::string(sentence.substr(blank + 1));
    item.choices.emplace_back(line.substr(comma[1] + 1, comma[2] - comma[1] - 1));
    item.choices.emplace_back(line.substr(comma[2] + 1, comma[3] - comma[2] - 1));
    item.correct = {*answer == 1, *answer == 2};
    task.items.push_back(std::move(item));
  }
  return task;
}

// Little-endian reads that name what they read and where, never past the end.
class BinaryReader {
 public:
  BinaryReader(std::string_view bytes, std::string_view what) : bytes_(bytes), what_(what) {}
  size_t offset() const { return offset_; }
  size_t size() const { return bytes_.size(); }
  uint32_t u32(std::string_view field) {
    need(4, field);
    uint32_t v = 0;
    std::memcpy(&v, bytes_.data() + offset_, 4);
    offset_ += 4;
    return v;
  }
  std::string str(std::string_view field) {
    const uint32_t n = u32(field);
    need(n, field);
    std::string s(bytes_.substr(offset_, n));
    offset_ += n;
    return s;
  }
  void set_context(std::string context) { context_ = std::move(context); }

 private:
  void need(size_t n, std::string_view field) const {
    if (n > bytes_.size() - offset_) {
      fail_invalid("{}: {}field '{}' at byte {} needs {} bytes, {} left", what_, context_, field,
                   offset_, n, bytes_.size() - offset_);
    }
  }
  std::string_view bytes_;
  std::string_view what_;
  std::string context_;
  size_t offset_ = 0;
};

// One of an item's answer sets (mc1, mc2): count, strings, int32 labels.
std::vector<std::pair<std::string, int32_t>> read_answers(BinaryReader& in, std::string_view set) {
  const uint32_t n = in.u32(fmt::format("{}.count", set));
  if (n > 100) {
    fail_invalid("field '{}.count' is {}: llama.cpp reads at most 100 answers", set, n);
  }
  std::vector<std::pair<std::string, int32_t>> answers(n);
  for (uint32_t i = 0; i < n; ++i) answers[i].first = in.str(fmt::format("{}.answers[{}]", set, i));
  for (uint32_t i = 0; i < n; ++i) {
    answers[i].second = static_cast<int32_t>(in.u32(fmt::format("{}.labels[{}]", set, i)));
  }
  return answers;
}

Task parse_multiple_choice(std::string_view bytes, std::string_view what) {
  BinaryReader in(bytes, what);
  const uint32_t n = in.u32("task count");
  if (n == 0) fail_invalid("{}: no tasks (the task count is 0)", what);
  // The offset table is what llama.cpp seeks by when it samples items; reading them all it goes
  // through the items in order, as here, so the table only has to lie inside the file.
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t pos = in.u32(fmt::format("task offsets[{}]", i));
    if (pos >= bytes.size()) {
      fail_invalid("{}: field 'task offsets[{}]' is {}, past the end of the file ({} bytes)", what,
                   i, pos, bytes.size());
    }
  }
  Task task;
  for (uint32_t i = 0; i < n; ++i) {
    in.set_context(fmt::format("item {}: ", i + 1));
    TaskItem item;
    item.source = i + 1;
    item.context = in.str("question");
    try {
      for (auto& [text, label] : read_answers(in, "mc1")) {
        item.choices.push_back(std::move(text));
        item.correct.push_back(label == 1);
      }
      read_answers(in, "mc2");
    } catch (const Error& e) {
      if (std::string_view(e.what()).starts_with(what)) throw;
      fail_invalid("{}: item {}: {}", what, i + 1, e.what());
    }
    if (item.context.empty() || item.choices.empty()) {
      fail_invalid("{}: item {}: empty field '{}'", what, i + 1,
                   item.context.empty() ? "question" : "mc1.answers");
    }
    for (size_t c = 0; c < item.choices.size(); ++c) {
      if (item.choices[c].empty()) {
        fail_invalid("{}: item {}: field 'mc1.answers[{}]' is empty", what, i + 1, c);
      }
    }
    task.items.push_back(std::move(item));
  }
  return task;
}

Task parse_jsonl(std::string_view bytes, std::string_view what) {
  Task task;
  size_t line_no = 0;
  for (const std::string_view raw : split_lines(bytes)) {
    ++line_no;
    const std::string_view line = trim_cr(raw);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail_invalid("{}: line {}: not JSON ({})", what, line_no, e.what());
    }
    if (!j.is_object()) fail_invalid("{}: line {}: not a JSON object", what, line_no);
    TaskItem item;
    item.source = static_cast<int64_t>(line_no);
    const auto prompt = j.find("prompt");
    if (prompt == j.end() || !prompt->is_string()) {
      fail_invalid("{}: line {}: field 'prompt' {}", what, line_no,
                   prompt == j.end() ? "is missing" : "is not a string");
    }
    item.context = prompt->get<std::string>();
    const auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->size() < 2) {
      fail_invalid("{}: line {}: field 'choices' {}", what, line_no,
                   choices == j.end() ? "is missing" : "is not an array of at least 2 strings");
    }
    for (size_t c = 0; c < choices->size(); ++c) {
      const auto& choice = (*choices)[c];
      if (!choice.is_string() || choice.get<std::string>().empty()) {
        fail_invalid("{}: line {}: field 'choices[{}]' is not a non-empty string", what, line_no,
                     c);
      }
      item.choices.push_back(choice.get<std::string>());
    }
    const auto answer = j.find("answer");
    if (answer == j.end() || !answer->is_number_integer()) {
      fail_invalid("{}: line {}: field 'answer' {}", what, line_no,
                   answer == j.end() ? "is missing" : "is not an integer");
    }
    const auto a = answer->get<int64_t>();
    if (a < 0 || a >= static_cast<int64_t>(item.choices.size())) {
      fail_invalid("{}: line {}: field 'answer' is {}, out of range for {} choices (0-{})", what,
                   line_no, a, item.choices.size(), item.choices.size() - 1);
    }
    for (size_t c = 0; c < item.choices.size(); ++c) {
      item.correct.push_back(static_cast<int64_t>(c) == a);
    }
    task.items.push_back(std::move(item));
  }
  return task;
}

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

int64_t answer_of(const TaskItem& item, size_t index, std::string_view format) {
  int64_t answer = -1;
  for (size_t c = 0; c < item.correct.size(); ++c) {
    if (!item.correct[c]) continue;
    if (answer >= 0)
      fail_invalid("write {}: item {} has more than one correct choice", format, index + 1);
    answer = static_cast<int64_t>(c);
  }
  if (answer < 0) fail_invalid("write {}: item {} has no correct choice", format, index + 1);
  return answer;
}

}  // namespace

std::string_view task_format_name(TaskFormat format) {
  switch (format) {
    case TaskFormat::hellaswag:
      return "hellaswag";
    case TaskFormat::winogrande:
      return "winogrande";
    case TaskFormat::multiple_choice:
      return "mc";
    case TaskFormat::jsonl:
      return "jsonl";
  }
  return "?";
}

TaskFormat parse_task_format(std::string_view name) {
  for (const TaskFormat f : {TaskFormat::hellaswag, TaskFormat::winogrande,
                             TaskFormat::multiple_choice, TaskFormat::jsonl}) {
    if (name == task_format_name(f)) return f;
  }
  if (name == "multiple-choice") return TaskFormat::multiple_choice;
  fail_invalid("task format '{}': expected hellaswag, winogrande, mc or jsonl", name);
}

Task parse_task(std::string_view bytes, TaskFormat format, std::string_view what) {
  Task task;
  switch (format) {
    case TaskFormat::hellaswag:
      task = parse_hellaswag(bytes, what);
      break;
    case TaskFormat::winogrande:
      task = parse_winogrande(bytes, what);
      break;
    case TaskFormat::multiple_choice:
      task = parse_multiple_choice(bytes, what);
      break;
    case TaskFormat::jsonl:
      task = parse_jsonl(bytes, what);
      break;
  }
  if (task.items.empty()) fail_invalid("{}: no items", what);
  task.format = format;
  return task;
}

Task read_task(const std::filesystem::path& path, std::optional<TaskFormat> format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_io("cannot open task file '{}'", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!format) {
    const std::string ext = path.extension().string();
    format = ext == ".jsonl" ? TaskFormat::jsonl
             : ext == ".csv" ? TaskFormat::winogrande
             : ext == ".bin" ? TaskFormat::multiple_choice
                             : TaskFormat::hellaswag;
  }
  Task task = parse_task(ss.str(), *format, path.string());
  task.name = path.stem().string();
  return task;
}

void write_task(const Task& task, TaskFormat format, const std::filesystem::path& path) {
  std::string out;
  const std::string_view name = task_format_name(format);
  if (format == TaskFormat::winogrande) fail_invalid("write {}: not supported", name);
  if (format == TaskFormat::multiple_choice) {
    put_u32(out, static_cast<uint32_t>(task.items.size()));
    const size_t table = out.size();
    out.resize(table + 4 * task.items.size());
    for (size_t i = 0; i < task.items.size(); ++i) {
      const TaskItem& item = task.items[i];
      const auto pos = static_cast<uint32_t>(out.size());
      std::memcpy(out.data() + table + 4 * i, &pos, 4);
      put_str(out, item.context);
      put_u32(out, static_cast<uint32_t>(item.choices.size()));
      for (const std::string& c : item.choices) put_str(out, c);
      for (const bool c : item.correct) put_u32(out, c ? 1u : 0u);
      put_u32(out, 0);  // mc2: none
    }
  }
  for (size_t i = 0; i < task.items.size() && format != TaskFormat::multiple_choice; ++i) {
    const TaskItem& item = task.items[i];
    const int64_t answer = answer_of(item, i, name);
    if (format == TaskFormat::jsonl) {
      out += nlohmann::json{{"prompt", item.context}, {"choices", item.choices}, {"answer", answer}}
                 .dump();
      out += '\n';
      continue;
    }
    if (item.choices.size() != 4) {
      fail_invalid("write hellaswag: item {} has {} choices, the format holds 4", i + 1,
                   item.choices.size());
    }
    for (const std::string& s :
         {item.context, item.choices[0], item.choices[1], item.choices[2], item.choices[3]}) {
      if (s.find('\n') != std::string::npos) {
        fail_invalid("write hellaswag: item {} has a line break in its text", i + 1);
      }
    }
    out += fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n", item.context, answer, item.choices[0],
                       item.choices[1], item.choices[2], item.choices[3]);
  }
  write_file_atomic(path, out);
}

}  // namespace slmkit
