// Perplexity by llama.cpp's method on real text, against llama.cpp's own numbers (fixtures
// README: llama-perplexity -c 256 on tinystories_val_subset.txt).
#include <chrono>
#include <cmath>

#include "slmkit/error.h"
#include "slmkit/perplexity.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::fixture;

PerplexityResult run(const std::string& model_rel, DType kv_type) {
  const auto path = fixture(model_rel);
  Engine engine(load_model(path));
  Tokenizer tokenizer = Tokenizer::from_path(path);
  const std::string text = testing::read_text(fixture("text/tinystories_val_subset.txt"));
  const std::vector<int32_t> tokens = tokenizer.encode(text, true);
  PerplexityOptions options;
  options.n_ctx = 256;
  options.add_bos = !tokens.empty() && tokens.front() == tokenizer.bos_id();
  options.bos_id = tokenizer.bos_id();
  options.n_threads = 1;
  options.kv_type = kv_type;
  return compute_perplexity(engine, tokens, options);
}

// llama.cpp reports 4.8753 (F16 KV cache, its default); the issue asks for 0.1%.
TEST(Perplexity, SlowStories260KMatchesLlamaCppWithinATenthOfAPercent) {
  SLMKIT_REQUIRE_FIXTURES();
  const PerplexityResult r = run("models/gguf-stories260K/stories260K.gguf", DType::F16);
  RecordProperty("ppl", std::to_string(r.ppl));
  std::printf("stories260K: PPL = %.4f +/- %.5f over %lld chunks (%lld tokens scored) in %.1f s\n",
              r.ppl, r.ppl_error, static_cast<long long>(r.n_chunks),
              static_cast<long long>(r.n_scored), r.seconds);
  EXPECT_NEAR(r.ppl, 4.8753, 4.8753 * 0.001);
  EXPECT_GT(r.ppl_error, 0.0);
  EXPECT_LT(r.ppl_error, 0.05);
  EXPECT_EQ(r.n_scored, r.n_chunks * 127);  // 256 / 2 .. 254 scored per chunk
}

TEST(Perplexity, RefusesTextShorterThanTwoContexts) {
  SLMKIT_REQUIRE_FIXTURES();
  Engine engine(load_model(fixture("models/gguf-stories260K/stories260K.gguf")));
  std::vector<int32_t> tokens(100, 5);
  PerplexityOptions options;
  options.n_ctx = 64;
  options.bos_id = 1;
  EXPECT_THROW(compute_perplexity(engine, tokens, options), Error);
}

}  // namespace
}  // namespace slmkit
