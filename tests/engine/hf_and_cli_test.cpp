// Hugging Face folders run directly and agree with the same model written as GGUF; the `run`
// and `perplexity` commands end to end.
#include <cmath>

#include "slmkit/engine.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::fixture;

std::vector<float> logits_of(const Model& model, const std::vector<int32_t>& tokens) {
  Engine engine(model);
  Session s(engine, SessionOptions{.n_ctx = 64, .kv_type = DType::F32, .all_logits = true});
  const auto l = s.eval(tokens, true);
  return {l.begin(), l.end()};
}

TEST(HuggingFace, Gpt2FolderRunsAndAgreesWithItsGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto folder = fixture("models/hf-gpt2-tiny-random");
  const Model hf = load_model(folder);
  EXPECT_EQ(hf.config.arch, "gpt2");
  const Tokenizer tokenizer = Tokenizer::from_path(folder);
  const std::vector<int32_t> ids = tokenizer.encode("Hello world, this is a test of", false);
  ASSERT_GT(ids.size(), 3u);
  const std::vector<float> from_hf = logits_of(hf, ids);
  for (float v : from_hf) ASSERT_TRUE(std::isfinite(v));

  const auto gguf_path = testing::temp_dir("engine_hf_gpt2") / "gpt2.gguf";
  save_model(hf, gguf_path, ModelFormat::gguf);
  const std::vector<float> from_gguf = logits_of(load_model(gguf_path), ids);
  // The same F32 weights in the same orientation: the same arithmetic, bit for bit.
  EXPECT_EQ(from_hf, from_gguf);

  Engine engine(hf);
  Session s(engine, SessionOptions{.n_ctx = 64});
  GenerateOptions go;
  go.n_predict = 16;
  go.sampling.temperature = 0;
  go.stop_tokens = {-1};
  EXPECT_EQ(generate(s, ids, go).tokens.size(), 16u);
}

TEST(Cli, RunPrintsThePromptTheGreedyTextAndATimingLine) {
  SLMKIT_REQUIRE_FIXTURES();
  std::string out;
  const std::string cmd = testing::cli_path().string() + " run -m " +
                          fixture("models/gguf-stories260K/stories260K.gguf").string() +
                          " -p 'Once upon a time' -n 40 --temp 0 -t 1";
  ASSERT_EQ(testing::run_command(cmd, &out), 0) << out;
  EXPECT_NE(out.find("Once upon a time, there was a little girl named Lily. She loved to play "
                     "outside in the park. One day, she saw a big, red ball."),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("tok/s"), std::string::npos) << out;
  EXPECT_NE(out.find("prompt 5 tokens"), std::string::npos) << out;
}

TEST(Cli, RunRejectsAPromptLongerThanTheContext) {
  SLMKIT_REQUIRE_FIXTURES();
  std::string out;
  const std::string cmd = testing::cli_path().string() + " run -m " +
                          fixture("models/gguf-stories260K/stories260K.gguf").string() +
                          " -p 'Once upon a time there was' -c 4 -n 4";
  EXPECT_EQ(testing::run_command(cmd, &out), 2) << out;
  EXPECT_NE(out.find("context"), std::string::npos) << out;
}

TEST(Cli, PerplexityEndsWithLlamaCppsFinalLine) {
  SLMKIT_REQUIRE_FIXTURES();
  std::string out;
  // Four chunks of 64 tokens keep this quick; the full-file number is checked in perplexity_test.
  const std::string cmd = testing::cli_path().string() + " perplexity -m " +
                          fixture("models/gguf-stories260K/stories260K.gguf").string() + " -f " +
                          fixture("text/tinystories_val_subset.txt").string() +
                          " -c 64 --chunks 4 -t 1";
  ASSERT_EQ(testing::run_command(cmd, &out), 0) << out;
  // The progress bar went by on stderr; the last line is llama.cpp's.
  ASSERT_FALSE(out.empty());
  const size_t last_line = out.rfind('\n', out.size() - 2);
  const std::string tail = out.substr(last_line == std::string::npos ? 0 : last_line + 1);
  EXPECT_EQ(tail.rfind("Final estimate: PPL = ", 0), 0u) << out;
  EXPECT_NE(tail.find(" +/- "), std::string::npos) << out;
  EXPECT_NE(out.find("4/4 chunks"), std::string::npos) << out;
}

}  // namespace
}  // namespace slmkit
