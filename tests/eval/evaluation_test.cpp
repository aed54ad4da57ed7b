// The evaluation driver on its own (eval/): chunking, the scored rows and their targets, NLL
// arithmetic, span scoring; with a fake logit source whose answers are known, and with the
// engine on stories260K.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/engine_logits.h"
#include "eval/chunks.h"
#include "eval/kl_divergence.h"
#include "eval/nll.h"
#include "eval/perplexity.h"
#include "eval/span_score.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit::eval {
namespace {

TEST(Evaluation, TokenNllIsLogSoftmax) {
  // softmax([0, ln 3]) = [1/4, 3/4]; a large common offset must not change it.
  const std::vector<float> row = {1000.0f, 1000.0f + std::log(3.0f)};
  EXPECT_NEAR(token_nll(row, 1), -std::log(0.75), 1e-4);
  EXPECT_NEAR(token_nll(row, 0), -std::log(0.25), 1e-4);
  NllAccumulator acc;
  acc.add(1.0);
  acc.add(3.0);
  const PerplexityResult r = acc.result();
  EXPECT_DOUBLE_EQ(r.ppl, std::exp(2.0));
  // sqrt(var / (n - 1)) * ppl with var = E[x^2] - E[x]^2 = 5 - 4.
  EXPECT_DOUBLE_EQ(r.ppl_error, std::exp(2.0));
  EXPECT_EQ(r.n_scored, 2);
}

TEST(Evaluation, PlanChecksAndCountsChunks) {
  EXPECT_THROW(plan_chunks(100, 3, -1, false, -1, 4, "x"), Error);  // context below 4
  EXPECT_THROW(plan_chunks(15, 8, -1, false, -1, 4, "x"), Error);   // under 2 contexts
  EXPECT_THROW(plan_chunks(100, 8, -1, true, -1, 4, "x"), Error);   // BOS wanted, none
  EXPECT_EQ(plan_chunks(100, 8, -1, false, -1, 4, "x").n_chunks, 12);
  EXPECT_EQ(plan_chunks(100, 8, 5, false, -1, 4, "x").n_chunks, 5);
  const ChunkPlan p = plan_chunks(100, 8, 50, true, 1, 4, "x");
  EXPECT_EQ(p.n_chunks, 12);
  EXPECT_EQ(p.first_scored(), 4);
  EXPECT_EQ(p.scored_per_chunk(), 3);  // rows 4, 5, 6 predict tokens 5, 6, 7
}

// A source whose row i puts all its weight on a token that depends on the token it follows, so
// that what is scored (rows and targets) can be read off the result.
class NextTokenSource : public LogitSource {
 public:
  static constexpr int64_t kVocab = 16;
  std::vector<std::vector<int32_t>> seen;
  std::span<const float> logits(std::span<const int32_t> tokens) override {
    seen.emplace_back(tokens.begin(), tokens.end());
    logits_.assign(tokens.size() * kVocab, 0.0f);
    for (size_t i = 0; i < tokens.size(); ++i) {
      logits_[i * kVocab + static_cast<size_t>((tokens[i] + 1) % kVocab)] = 50.0f;
    }
    return logits_;
  }

 private:
  std::vector<float> logits_;
};

TEST(Evaluation, ChunksReplaceTheFirstTokenAndScoreTheSecondHalfAgainstTheText) {
  std::vector<int32_t> text(24);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<int32_t>(i % 16);
  NextTokenSource source;
  PerplexityOptions o;
  o.n_ctx = 8;
  o.add_bos = true;
  o.bos_id = 15;
  const PerplexityResult r = perplexity(source, text, o);
  ASSERT_EQ(source.seen.size(), 3u);
  EXPECT_EQ(source.seen[1], (std::vector<int32_t>{15, 9, 10, 11, 12, 13, 14, 15}));
  // Every target is the source's favourite: each NLL is log(1 + 15 e^-50), PPL 1 to 1e-15.
  EXPECT_EQ(r.n_scored, 3 * 3);
  EXPECT_NEAR(r.ppl, 1.0, 1e-15);
  // A text the source cannot predict: every target has probability 1 / (15 + e^50).
  std::vector<int32_t> other = text;
  for (int32_t& t : other) t = 3;
  const PerplexityResult worse = perplexity(source, other, o);
  EXPECT_NEAR(std::log(worse.ppl), 50.0, 1e-9);
  EXPECT_EQ(worse.chunk_ppl.size(), 3u);
}

TEST(Evaluation, SpanScoreSumsLogProbabilitiesAndSaysWhetherGreedy) {
  NextTokenSource source;
  const std::vector<int32_t> tokens = {2, 3, 4, 5, 9};
  const SpanScore likely = score_span(source, std::span(tokens).first(4), 1);
  EXPECT_EQ(likely.n_tokens, 3);
  EXPECT_TRUE(likely.greedy);
  EXPECT_NEAR(likely.log_likelihood, -3 * std::log1p(15 * std::exp(-50.0)), 1e-12);
  const SpanScore unlikely = score_span(source, tokens, 4);  // 9 after 5
  EXPECT_FALSE(unlikely.greedy);
  EXPECT_NEAR(unlikely.log_likelihood, -50.0, 1e-9);
  EXPECT_THROW(score_span(source, tokens, 0), Error);  // nothing before the first token
}

// The engine's greedy continuation of a prompt scores as greedy; its log-likelihood is the sum of
// the single tokens' and matches the perplexity arithmetic on the same rows.
TEST(Evaluation, EngineSpanScoresAgreeWithGreedyDecoding) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model model = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  const Tokenizer tokenizer(model.vocab);
  const Engine engine{Model(model)};
  std::vector<int32_t> tokens = tokenizer.encode("Once upon a time", true);
  const auto n_prompt = static_cast<int64_t>(tokens.size());
  engine::EngineLogits source(engine, 64, 1, DType::F32);
  for (int i = 0; i < 8; ++i) {
    const std::span<const float> all = source.logits(tokens);
    const auto last = all.subspan(all.size() - static_cast<size_t>(model.config.vocab_size));
    tokens.push_back(
        static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin()));
  }
  const SpanScore s = score_span(source, tokens, n_prompt);
  EXPECT_EQ(s.n_tokens, 8);
  EXPECT_TRUE(s.greedy);
  EXPECT_LT(s.log_likelihood, 0.0);
  double sum = 0;
  const std::span<const float> all = source.logits(tokens);
  for (int64_t i = n_prompt; i < static_cast<int64_t>(tokens.size()); ++i) {
    sum += score_span(all, model.config.vocab_size, tokens, i, i + 1).log_likelihood;
  }
  EXPECT_DOUBLE_EQ(s.log_likelihood, sum);
  tokens.back() = (tokens.back() + 1) % static_cast<int32_t>(model.config.vocab_size);
  EXPECT_FALSE(score_span(source, tokens, n_prompt).greedy);
}

// A KL pass's perplexity (writing the base, and comparing with it) is eval::perplexity's bit for
// bit: the pipeline takes both from one pass. Engine logits on stories260K, 3 chunks of 64.
TEST(Evaluation, KlPassesGiveThePerplexityOfThePerplexityPass) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model model = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  const Tokenizer tokenizer(model.vocab);
  const Engine engine{Model(model)};
  const std::vector<int32_t> tokens = tokenizer.encode(
      testing::read_text(testing::fixture("text/tinystories_val_subset.txt")).substr(0, 4000),
      true);
  PerplexityOptions o;
  o.n_ctx = 64;
  o.n_chunks = 3;
  o.add_bos = true;
  o.bos_id = tokenizer.bos_id();
  engine::EngineLogits source(engine, o.n_ctx, 1, DType::F16);
  const PerplexityResult plain = perplexity(source, tokens, o);
  const auto base = testing::temp_dir("eval_kl_exact") / "base.kld";
  PerplexityResult from_base, from_compare;
  write_kl_base(source, model.config.vocab_size, tokens, o, base, &from_base);
  compute_kl_divergence(source, model.config.vocab_size, base, o, &from_compare);
  for (const PerplexityResult* r : {&from_base, &from_compare}) {
    EXPECT_EQ(r->ppl, plain.ppl);
    EXPECT_EQ(r->ppl_error, plain.ppl_error);
    EXPECT_EQ(r->n_scored, plain.n_scored);
    EXPECT_EQ(r->chunk_ppl, plain.chunk_ppl);
  }
}

}  // namespace
}  // namespace slmkit::eval
