// The engine against llama.cpp on the same GGUF files: logits of every prompt position (target
// max |diff| <= 1e-4 x the logit range for F32 weights) and 64-token greedy continuations, on
// the real fixtures and on synthetic GGUFs of every family.
//
// Both sides keep K and V in F32 (llama.cpp's default F16 cache rounds them, and so does ours
// when asked, but the two round different intermediate values: llama.cpp's flash attention keeps
// scores in f16 on some paths), run one thread, and evaluate the prompt in one batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "peers/llama_cpp_peer.h"
#include "slmkit/engine.h"
#include "slmkit/synth.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "support/llama_cpp.h"
#include "support/llama_cpp_parity.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;
using peers::LlamaCppContext;
using peers::LlamaCppModel;
using peers::LlamaCppPeer;

struct Comparison {
  double max_diff = 0;
  double range = 0;
  double relative() const { return max_diff / range; }
  int argmax_disagreements = 0;
};

Comparison compare_logits(const fs::path& gguf, const std::vector<int32_t>& tokens,
                          bool llama_cpp_gelu) {
  const LlamaCppModel theirs_model = LlamaCppModel::load(gguf);
  LlamaCppContext theirs(theirs_model, testing::parity_context_options(256));
  const peers::LlamaCppLogits want = theirs.logits(tokens);

  Engine engine(load_model(gguf));
  SessionOptions so;
  so.n_ctx = 256;
  so.n_threads = 1;
  so.kv_type = DType::F32;
  so.all_logits = true;
  so.llama_cpp_gelu = llama_cpp_gelu;
  Session session(engine, so);
  const std::span<const float> got = session.eval(tokens, true);
  const size_t V = static_cast<size_t>(want.n_vocab);
  EXPECT_EQ(static_cast<size_t>(session.n_vocab()), V);
  Comparison c;
  float lo = INFINITY, hi = -INFINITY;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const auto row = want.row(static_cast<int32_t>(t));
    for (size_t i = 0; i < V; ++i) {
      lo = std::min(lo, row[i]);
      hi = std::max(hi, row[i]);
      c.max_diff = std::max(c.max_diff, static_cast<double>(std::fabs(got[t * V + i] - row[i])));
    }
    const auto ours_row = got.subspan(t * V, V);
    if (std::max_element(ours_row.begin(), ours_row.end()) - ours_row.begin() !=
        std::max_element(row.begin(), row.end()) - row.begin()) {
      ++c.argmax_disagreements;
    }
  }
  c.range = hi - lo;
  return c;
}

std::vector<int32_t> greedy_ours(const fs::path& gguf, const std::vector<int32_t>& prompt, int n,
                                 bool llama_cpp_gelu) {
  Engine engine(load_model(gguf));
  Session session(
      engine,
      SessionOptions{
          .n_ctx = 256, .n_threads = 1, .kv_type = DType::F32, .llama_cpp_gelu = llama_cpp_gelu});
  GenerateOptions go;
  go.n_predict = n;
  go.sampling.temperature = 0;
  go.stop_tokens = {-1};
  return generate(session, prompt, go).tokens;
}

std::vector<int32_t> greedy_theirs(const fs::path& gguf, const std::vector<int32_t>& prompt,
                                   int n) {
  const LlamaCppModel model = LlamaCppModel::load(gguf);
  peers::LlamaCppContextOptions co;
  co.n_ctx = 256;
  co.n_threads = 1;
  co.kv_cache_f32 = true;
  co.flash_attention = peers::LlamaCppFlashAttention::disabled;
  LlamaCppContext context(model, co);
  return context.generate_greedy(prompt, n);
}

void expect_parity(const std::string& label, const fs::path& gguf,
                   const std::vector<int32_t>& prompt, double tolerance,
                   bool llama_cpp_gelu = false) {
  const Comparison c = compare_logits(gguf, prompt, llama_cpp_gelu);
  std::printf(
      "%-28s %zu positions: max |diff| %.3g, logit range %.3g, ratio %.2e, argmax "
      "disagreements %d\n",
      label.c_str(), prompt.size(), c.max_diff, c.range, c.relative(), c.argmax_disagreements);
  EXPECT_LE(c.relative(), tolerance) << label;
  const std::vector<int32_t> ours = greedy_ours(gguf, prompt, 64, llama_cpp_gelu);
  const std::vector<int32_t> theirs = greedy_theirs(gguf, prompt, 64);
  size_t same = 0;
  while (same < ours.size() && same < theirs.size() && ours[same] == theirs[same]) ++same;
  std::printf("%-28s greedy: %zu of 64 tokens identical\n", label.c_str(), same);
  EXPECT_EQ(ours, theirs) << label << ": first difference at token " << same;
}

std::vector<int32_t> prompt_of(const fs::path& model, const std::string& text) {
  return Tokenizer::from_path(model).encode(text, true);
}

TEST(EngineParity, Stories260K) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path gguf = testing::fixture("models/gguf-stories260K/stories260K.gguf");
  expect_parity("stories260K", gguf,
                prompt_of(gguf, "Once upon a time, there was a little girl named Lily."), 1e-4);
}

TEST(EngineParity, Stories3M) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path gguf = testing::fixture("models/stories3M/stories3M.gguf");
  expect_parity("stories3M", gguf, prompt_of(gguf, "Once upon a time, there was a big dog."), 1e-4);
}

// F16 matrices: both sides round activations onto the f16 grid before each product (llama.cpp's
// vec_dot_type for F16), so the 1e-4 target holds here too.
TEST(EngineParity, Llama2TinyRandomF16) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path gguf = testing::fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf");
  expect_parity("llama-2-tiny-random (F16)", gguf,
                prompt_of(gguf, "The quick brown fox jumps over the lazy dog, again and again."),
                1e-4);
}

class SyntheticParity : public ::testing::TestWithParam<std::string> {};

// Tiny random models of each family written as GGUF by slmkit, read by both.
TEST_P(SyntheticParity, TinyModel) {
  SLMKIT_REQUIRE_FIXTURES();  // the family's real tokenizer, which llama.cpp insists on
  SLMKIT_REQUIRE_LLAMA_CPP();
  SynthOptions o;
  o.arch = GetParam();
  o.shape = "tiny";
  o.seed = 11;
  o.dtype = DType::F32;
  o.tokenizer_dirs = {testing::fixture("tokenizers")};
  const fs::path gguf = testing::temp_dir("engine_parity_" + GetParam()) / "tiny.gguf";
  save_model(synthesize_model(o), gguf, ModelFormat::gguf);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> id(3, 3000);
  std::vector<int32_t> prompt(40);
  for (auto& t : prompt) t = id(rng);
  // GELU (GPT-2, Gemma's GeGLU): llama.cpp's CPU backend looks it up in an f16 table
  // (GGML_GELU_FP16: input and output rounded to f16, 2^-11 relative) where the engine computes
  // it in f32 by default. With SessionOptions::llama_cpp_gelu the engine does what llama.cpp does
  // and the 1e-4 target holds for every family; with the exact GELU, GPT-2 lands near 2e-4.
  const bool uses_gelu = GetParam() == "gpt2" || GetParam() == "gemma3";
  expect_parity("synthetic " + GetParam(), gguf, prompt, 1e-4, /*llama_cpp_gelu=*/true);
  if (uses_gelu) {
    expect_parity("synthetic " + GetParam() + " exact GELU", gguf, prompt, 1e-3, false);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, SyntheticParity,
                         ::testing::Values("gpt2", "llama", "gemma3", "qwen2"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace slmkit
