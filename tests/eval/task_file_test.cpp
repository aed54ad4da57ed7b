// Task files (include/slmkit/task_eval.h): llama-perplexity's hellaswag, winogrande and binary
// multiple-choice formats and JSONL, read back exactly, and every kind of damage named by its
// line (or item) and field.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "eval/task_score.h"
#include "slmkit/error.h"
#include "slmkit/task_eval.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::contains;
using testing::expect_error;

Task two_items() {
  Task t;
  TaskItem a;
  a.context = "Tom has a red ball.";
  a.choices = {"He plays with it.", "The sky is green.", "Cats fly.", "It is a bird."};
  a.correct = {true, false, false, false};
  TaskItem b;
  b.context = "Sue is hungry.";
  b.choices = {"She sleeps.", "She eats an apple.", "Rain falls up.", "Dogs read."};
  b.correct = {false, true, false, false};
  t.items = {a, b};
  return t;
}

TEST(TaskFile, HellaswagLinesAreContextAnswerAndFourEndings) {
  const Task t = parse_task("ctx one\n2\na\nb\nc\nd\nctx two\n0\ne\nf\ng\nh\n",
                            TaskFormat::hellaswag, "hs.txt");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(t.items[0].context, "ctx one");
  EXPECT_EQ(t.items[0].choices, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(t.items[0].correct, (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(t.items[1].source, 7);
  EXPECT_TRUE(t.items[1].correct[0]);
}

TEST(TaskFile, HellaswagDamageNamesLineAndField) {
  Error e = expect_error([] { parse_task("c\n1\na\nb\nc\n", TaskFormat::hellaswag, "hs.txt"); });
  EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
  EXPECT_TRUE(contains(e, "hs.txt: 5 lines, not a multiple of 6")) << e.what();
  e = expect_error([] { parse_task("c\n4\na\nb\nc\nd\n", TaskFormat::hellaswag, "hs.txt"); });
  EXPECT_TRUE(contains(e, "line 2: field 'answer' is 4, out of range")) << e.what();
  e = expect_error([] { parse_task("c\nx\na\nb\nc\nd\n", TaskFormat::hellaswag, "hs.txt"); });
  EXPECT_TRUE(contains(e, "line 2: field 'answer' is 'x'")) << e.what();
}

TEST(TaskFile, WinograndeSplitsAtTheBlankAndSkipsAHeader) {
  const Task t = parse_task(
      "index,sentence,option1,option2,answer\n"
      "0,Sarah was a better surgeon than Maria so _ got the easier cases.,Sarah,Maria,2\n"
      "1,\"Ann, not Bo, won so _ smiled.\",Ann,Bo,1\r\n",
      TaskFormat::winogrande, "wg.csv");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(t.items[0].context, "Sarah was a better surgeon than Maria so ");
  EXPECT_EQ(t.items[0].suffix, " got the easier cases.");
  EXPECT_EQ(t.items[0].choices, (std::vector<std::string>{"Sarah", "Maria"}));
  EXPECT_EQ(t.items[0].correct, (std::vector<bool>{false, true}));
  EXPECT_EQ(t.items[1].context, "Ann, not Bo, won so ");  // quoted: its comma is text
  EXPECT_EQ(t.items[1].source, 3);
}

TEST(TaskFile, WinograndeDamageNamesLineAndField) {
  Error e = expect_error(
      [] { parse_task("0,a _ b,x,y,1\n1,no blank,x,y,1\n", TaskFormat::winogrande, "w.csv"); });
  EXPECT_TRUE(contains(e, "w.csv: line 2: field 'sentence' has no '_'")) << e.what();
  e = expect_error([] { parse_task("0,a _ b,x,y,3\n", TaskFormat::winogrande, "w.csv"); });
  EXPECT_TRUE(contains(e, "line 1: field 'answer' is 3, out of range")) << e.what();
  e = expect_error([] { parse_task("0,a _ b,x,1\n", TaskFormat::winogrande, "w.csv"); });
  EXPECT_TRUE(contains(e, "line 1: 3 field separators")) << e.what();
  e = expect_error(
      [] { parse_task("0,a _ b,x,y,1\n1,c _ d,x,y,z\n", TaskFormat::winogrande, "w.csv"); });
  EXPECT_TRUE(contains(e, "line 2: field 'answer' is 'z'")) << e.what();
  // llama.cpp drops a quoted field's first and last characters: both must be quotes.
  e = expect_error(
      [] { parse_task("0,\"Ann _ won.\" x,x,y,1\n", TaskFormat::winogrande, "w.csv"); });
  EXPECT_TRUE(contains(e, "line 1: field 'sentence' opens a quote it does not close")) << e.what();
}

TEST(TaskFile, MultipleChoiceBinaryRoundTripsAndDamageIsNamed) {
  const auto dir = testing::temp_dir("task_file_mc");
  write_task(two_items(), TaskFormat::multiple_choice, dir / "t.bin");
  const std::string bytes = testing::read_text(dir / "t.bin");
  const Task back = read_task(dir / "t.bin");
  EXPECT_EQ(back.format, TaskFormat::multiple_choice);
  EXPECT_EQ(back.name, "t");
  ASSERT_EQ(back.items.size(), 2u);
  EXPECT_EQ(back.items[1].context, "Sue is hungry.");
  EXPECT_EQ(back.items[1].choices, two_items().items[1].choices);
  EXPECT_EQ(back.items[1].correct, two_items().items[1].correct);
  // Cut inside the second item's third answer: that item, that field, that offset.
  const size_t cut = bytes.find("Rain falls up.") + 3;
  Error e = expect_error([&] {
    parse_task(std::string_view(bytes).substr(0, cut), TaskFormat::multiple_choice, "t.bin");
  });
  EXPECT_TRUE(contains(e, "t.bin: item 2: field 'mc1.answers[2]' at byte")) << e.what();
  EXPECT_TRUE(contains(e, "needs 14 bytes, 3 left")) << e.what();
  // An answer count above llama.cpp's limit of 100.
  std::string big = bytes;
  const uint32_t n = 101;
  std::memcpy(big.data() + bytes.find("Tom has a red ball.") + 19, &n, 4);
  e = expect_error([&] { parse_task(big, TaskFormat::multiple_choice, "t.bin"); });
  EXPECT_TRUE(contains(e, "item 1: field 'mc1.count' is 101")) << e.what();
  e = expect_error([&] { parse_task(bytes.substr(0, 6), TaskFormat::multiple_choice, "t.bin"); });
  EXPECT_TRUE(contains(e, "field 'task offsets[0]'")) << e.what();
}

TEST(TaskFile, JsonlRoundTripsAndDamageIsNamed) {
  const auto dir = testing::temp_dir("task_file_jsonl");
  write_task(two_items(), TaskFormat::jsonl, dir / "t.jsonl");
  const Task back = read_task(dir / "t.jsonl");
  EXPECT_EQ(back.format, TaskFormat::jsonl);
  ASSERT_EQ(back.items.size(), 2u);
  EXPECT_EQ(back.items[0].choices, two_items().items[0].choices);
  EXPECT_EQ(back.items[1].correct, two_items().items[1].correct);

  const auto bad = [](const std::string& line2) {
    return expect_error([&] {
      parse_task("{\"prompt\":\"p\",\"choices\":[\"a\",\"b\"],\"answer\":0}\n" + line2 + "\n",
                 TaskFormat::jsonl, "u.jsonl");
    });
  };
  EXPECT_TRUE(contains(bad("{\"prompt\":\"p\",\"choices\":[\"a\",\"b\"],\"answer\":2}"),
                       "u.jsonl: line 2: field 'answer' is 2, out of range for 2 choices"));
  EXPECT_TRUE(contains(bad("{\"prompt\":\"p\",\"choices\":[\"a\",\"b\"],\"answer\":-1}"),
                       "line 2: field 'answer' is -1, out of range"));
  EXPECT_TRUE(contains(bad("{\"choices\":[\"a\",\"b\"],\"answer\":0}"),
                       "line 2: field 'prompt' is missing"));
  EXPECT_TRUE(contains(bad("{\"prompt\":\"p\",\"choices\":[\"a\",3],\"answer\":0}"),
                       "line 2: field 'choices[1]' is not a non-empty string"));
  EXPECT_TRUE(contains(bad("{\"prompt\":\"p\",\"choices\":[\"a\",\"b\"],\"answer\":\"0\"}"),
                       "line 2: field 'answer' is not an integer"));
  EXPECT_TRUE(contains(bad("{\"prompt\": oops"), "u.jsonl: line 2: not JSON"));
}

TEST(TaskFile, HellaswagWrittenIsReadBack) {
  const auto dir = testing::temp_dir("task_file_hs");
  write_task(two_items(), TaskFormat::hellaswag, dir / "t.txt");
  EXPECT_EQ(testing::read_text(dir / "t.txt"),
            "Tom has a red ball.\n0\nHe plays with it.\nThe sky is green.\nCats fly.\nIt is a "
            "bird.\nSue is hungry.\n1\nShe sleeps.\nShe eats an apple.\nRain falls up.\nDogs "
            "read.\n");
  EXPECT_EQ(read_task(dir / "t.txt").items[1].correct, two_items().items[1].correct);
}

TEST(TaskFile, FormatNames) {
  EXPECT_EQ(parse_task_format("mc"), TaskFormat::multiple_choice);
  EXPECT_EQ(task_format_name(TaskFormat::winogrande), "winogrande");
  EXPECT_TRUE(contains(expect_error([] { parse_task_format("csv"); }),
                       "task format 'csv': expected hellaswag, winogrande, mc or jsonl"));
}

TEST(TaskFile, SelectionIsLlamaCppsOrder) {
  // Without sampling, winogrande/mc/jsonl keep the file's order; hellaswag is always shuffled,
  // a permutation of every item (which items and in what order is pinned against llama.cpp
  // itself in tests/peers/task_llama_cpp_test.cpp).
  EXPECT_EQ(eval::select_items(TaskFormat::multiple_choice, 5, 0),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  std::vector<int64_t> hs = eval::select_items(TaskFormat::hellaswag, 50, 0);
  std::sort(hs.begin(), hs.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(hs[static_cast<size_t>(i)], i);
  const std::vector<int64_t> few = eval::select_items(TaskFormat::jsonl, 50, 7);
  EXPECT_EQ(few.size(), 7u);
  EXPECT_EQ(std::set<int64_t>(few.begin(), few.end()).size(), 7u);
}

}  // namespace
}  // namespace slmkit
