// Task accuracy through ONNX Runtime (the evaluation driver over the ORT logit source) against our
// engine on the same items of stories260K's fp32 export: the same choices, the same scores to
// float rounding.
#include <gtest/gtest.h>

#include "slmkit/engine.h"
#include "slmkit/export_onnx.h"
#include "slmkit/model.h"
#include "slmkit/task_eval.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "support/ort.h"

namespace slmkit {
namespace {

TEST(TaskOnnx, ScoresMatchTheEngineOnStories260KFp32) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ORT();
  Model model = load_model(testing::fixture("models/llama2c-stories260K/stories260K.bin"));
  const auto dir = testing::temp_dir("task-onnx") / "export";
  OnnxExportOptions eo;
  eo.variants = {OnnxVariant::plain};
  export_onnx(model, dir, eo);
  const Tokenizer tok(model.vocab);
  const Task task = read_task(testing::source_dir() / "tasks/tinystories-next-sentence.txt");
  TaskEvalOptions o;
  o.n_items = 3;  // 12 sequences: the peer starts ONNX Runtime once per sequence
  o.n_threads = 1;
  o.kv_type = DType::F32;
  const TaskResult onnx = evaluate_task_onnx(dir, dir / "onnx/decoder_model.onnx", tok, task, o);
  const Engine engine(std::move(model));
  const TaskResult ours = evaluate_task(engine, tok, task, o);
  ASSERT_EQ(onnx.items.size(), 3u);
  ASSERT_EQ(ours.items.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(onnx.items[i].item, ours.items[i].item);
    EXPECT_EQ(onnx.items[i].chosen, ours.items[i].chosen);
    for (size_t c = 0; c < 4; ++c) {
      // Mean log-probabilities (about -2 to -6) from f32 logits of two runtimes: they differ in
      // summation order only (3e-5 relative on perplexity, tests/peers/ort_logits_test.cpp).
      EXPECT_NEAR(onnx.items[i].score[c], ours.items[i].score[c], 1e-3) << i << " " << c;
    }
  }
  EXPECT_EQ(onnx.n_correct, ours.n_correct);
}

}  // namespace
}  // namespace slmkit
