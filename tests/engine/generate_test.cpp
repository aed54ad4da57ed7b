// End-to-end generation on real models: the greedy continuations the fixtures README records.
#include <string>

#include "slmkit/engine.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::fixture;

// Greedy text after BOS + prompt, decoded.
std::string greedy_text(const std::filesystem::path& model_path, const std::string& prompt,
                        int64_t n_predict, DType kv_type, int n_threads = 2) {
  Engine engine(load_model(model_path));
  Tokenizer tokenizer = Tokenizer::from_path(model_path);
  SessionOptions so;
  so.n_threads = n_threads;
  so.kv_type = kv_type;
  Session session(engine, so);
  GenerateOptions go;
  go.n_predict = n_predict;
  go.sampling.temperature = 0;
  const std::vector<int32_t> ids = tokenizer.encode(prompt, true);
  GenerateResult r = generate(session, ids, go);
  return tokenizer.decode(r.tokens);
}

constexpr const char* kStories260KContinuation =
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she "
    "saw a big, red ball.";
constexpr const char* kStories3MContinuation =
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she "
    "went to the park to play. She saw a big, shiny";

TEST(Generate, Stories260KGreedyMatchesItsReadme) {
  SLMKIT_REQUIRE_FIXTURES();
  for (DType kv : {DType::F32, DType::F16}) {
    const std::string text = greedy_text(fixture("models/gguf-stories260K/stories260K.gguf"),
                                         "Once upon a time", 40, kv);
    EXPECT_EQ(text.substr(0, std::string(kStories260KContinuation).size()),
              kStories260KContinuation)
        << "KV " << dtype_name(kv) << ", whole text: " << text;
  }
}

TEST(Generate, Stories260KLlama2cCheckpointMatchesGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  const std::string text = greedy_text(fixture("models/llama2c-stories260K/stories260K.bin"),
                                       "Once upon a time", 40, DType::F32, 1);
  EXPECT_EQ(text.substr(0, std::string(kStories260KContinuation).size()), kStories260KContinuation)
      << text;
}

TEST(Generate, Stories3MGreedyMatchesItsReadme) {
  SLMKIT_REQUIRE_FIXTURES();
  const std::string text =
      greedy_text(fixture("models/stories3M/stories3M.gguf"), "Once upon a time", 60, DType::F32);
  EXPECT_EQ(text.substr(0, std::string(kStories3MContinuation).size()), kStories3MContinuation)
      << text;
}

}  // namespace
}  // namespace slmkit
