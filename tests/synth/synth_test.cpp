#include "slmkit/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "formats/tensor_transforms.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

SynthOptions options(const std::string& arch, const std::string& shape, uint64_t seed = 7) {
  SynthOptions o;
  o.arch = arch;
  o.shape = shape;
  o.seed = seed;
  o.tokenizer_dirs = {testing::fixture("tokenizers")};
  return o;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.n_bytes() == b.n_bytes() &&
         std::memcmp(a.data(), b.data(), a.n_bytes()) == 0;
}

TEST(Synth, SameSeedSameBytesOtherSeedOtherBytes) {
  const Model a = synthesize_model(options("llama", "tiny", 1));
  const Model b = synthesize_model(options("llama", "tiny", 1));
  const Model c = synthesize_model(options("llama", "tiny", 2));
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i)
    EXPECT_TRUE(same_bytes(a.tensors()[i], b.tensors()[i]));
  EXPECT_FALSE(same_bytes(a.get("blk.0.attn_q.weight"), c.get("blk.0.attn_q.weight")));
  EXPECT_TRUE(a.source.synthetic);
}

// Parameter counts of the real models these shapes copy (their published totals).
TEST(Synth, ShapesHaveTheRealParameterCounts) {
  EXPECT_EQ(synthesize_model(options("gpt2", "distilgpt2")).n_parameters(),
            81912576);  // 81.9M, tied
  SynthOptions o = options("llama", "tinyllama-1.1b");
  o.dtype = DType::F16;
  EXPECT_EQ(synthesize_model(o).n_parameters(), 1100048384);
}

double std_dev_of(const Tensor& t, double* mean_out = nullptr) {
  const std::vector<float> w = t.to_f32();
  double sum = 0, sq = 0;
  for (float x : w) sum += x, sq += double(x) * x;
  const double mean = sum / w.size();
  if (mean_out) *mean_out = mean;
  return std::sqrt(sq / w.size() - mean * mean);
}

// Hugging Face's initialization: std 0.02, the residual-stream writers scaled by
// 1/sqrt(2 * n_layer) (GPT-2's rule), norms near 1.
TEST(Synth, WeightsHaveTheIntendedScale) {
  const Model m = synthesize_model(options("qwen2", "tiny"));  // 2 layers
  double mean = 0;
  // 10,240 uniform samples: the sample std is within about 1% of the true one.
  EXPECT_NEAR(std_dev_of(m.get("blk.0.ffn_down.weight"), &mean), 0.02 / 2, 0.0004);
  EXPECT_NEAR(mean, 0.0, 0.0003);
  EXPECT_NEAR(std_dev_of(m.get("blk.0.attn_output.weight")), 0.02 / 2, 0.0004);
  EXPECT_NEAR(std_dev_of(m.get("blk.1.ffn_up.weight")), 0.02, 0.0006);
  EXPECT_NEAR(std_dev_of(m.get("token_embd.weight")), 0.02, 0.0002);
  EXPECT_EQ(m.get("blk.0.attn_norm.weight").dtype(), DType::F32);
  std_dev_of(m.get("blk.0.attn_norm.weight"), &mean);
  EXPECT_NEAR(mean, 1.0, 0.01);
}

// A fresh model knows nothing: its next-token distribution is near uniform, so its perplexity
// on any tokens is near the vocabulary size. The logits' spread is about 0.02 * sqrt(n_embd)
// (0.16 for the tiny shapes' 64, up to 0.5 for the real widths), which puts the perplexity at
// V * exp(spread^2 / 2) <= 1.14 V; the bound leaves room for the rest. The earlier unit-scale
// embeddings gave 1e36.
TEST(Synth, FreshModelsPerplexityIsNearTheVocabularySize) {
  for (const char* arch : {"gpt2", "llama", "gemma3", "qwen2"}) {
    SCOPED_TRACE(arch);
    SynthOptions o;
    o.arch = arch;
    const Model m = synthesize_model(o);
    const int64_t V = m.config.vocab_size;
    std::vector<int32_t> tokens;
    for (int i = 0; i < 32; ++i) tokens.push_back(static_cast<int32_t>((i * 7919 + 13) % 256));
    Engine engine{Model(m)};
    SessionOptions so;
    so.n_ctx = 64;
    so.all_logits = true;
    so.n_threads = 1;
    Session session(engine, so);
    const auto logits = session.eval(tokens, true);
    double nll = 0;
    for (size_t t = 0; t + 1 < tokens.size(); ++t) {
      const float* row = logits.data() + static_cast<int64_t>(t) * V;
      const float mx = *std::max_element(row, row + V);
      double z = 0;
      for (int64_t i = 0; i < V; ++i) z += std::exp(row[i] - mx);
      nll += std::log(z) + mx - row[tokens[t + 1]];
    }
    const double ppl = std::exp(nll / static_cast<double>(tokens.size() - 1));
    std::printf("%s: perplexity %.0f, vocabulary %lld (%.3f x)\n", arch, ppl,
                static_cast<long long>(V), ppl / static_cast<double>(V));
    EXPECT_GT(ppl, 0.8 * static_cast<double>(V));
    EXPECT_LT(ppl, 1.5 * static_cast<double>(V));
  }
}

TEST(Synth, EveryFamilyRoundTripsThroughGgufAndHuggingFace) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto dir = testing::temp_dir("synth-roundtrip");
  for (const char* arch : {"gpt2", "llama", "gemma3", "qwen2"}) {
    SCOPED_TRACE(arch);
    const Model m = synthesize_model(options(arch, "tiny"));
    EXPECT_FALSE(m.vocab.source.find("fallback") != std::string::npos)
        << "family tokenizer not found";
    const auto gguf_path = dir / (std::string(arch) + ".gguf");
    const auto hf_path = dir / (std::string(arch) + "-hf");
    save_model(m, gguf_path, ModelFormat::gguf);
    save_model(m, hf_path, ModelFormat::hf);
    for (const auto& path : {gguf_path, hf_path}) {
      Model back = load_model(path);
      EXPECT_TRUE(back.source.synthetic);
      EXPECT_EQ(back.config.arch, arch);
      EXPECT_EQ(back.config.layer_attention, m.config.layer_attention);
      convert_conventions(back, m.config.rope.style, m.config.norm_weight_offset);
      for (const Tensor& t : m.tensors()) {
        const Tensor* u = back.find(t.name());
        ASSERT_NE(u, nullptr) << path << " lacks " << t.name();
        EXPECT_EQ(u->shape(), t.shape()) << t.name();
        EXPECT_EQ(u->to_f32(), t.to_f32()) << path << ": " << t.name();
      }
      if (path == gguf_path) {
        EXPECT_EQ(back.vocab.tokens, m.vocab.tokens);
      } else {  // the folder carries the original tokenizer file, which may list extra added tokens
        ASSERT_GE(back.vocab.size(), 256u);
        EXPECT_EQ(back.vocab.tokens[255], m.vocab.tokens[255]);
      }
    }
  }
}

// Writing scales with the bytes written: a Gemma 3 tiny folder without tokenizer files (67 MB of
// weights, and 262,144 vocabulary rows that become 100 MB of tokenizer files) took 104 s when
// tokenizer_config.json's added tokens were inserted one key search at a time (quadratic); now
// about 3 s of CPU. The bound is on CPU time, which other jobs on the machine do not inflate, and
// leaves room for sanitizer builds.
TEST(Synth, HfFolderWithoutTokenizerIsLinearInItsSize) {
  SynthOptions o;
  o.arch = "gemma3";
  const Model m = synthesize_model(o);
  const auto dir = testing::temp_dir("synth-speed") / "gemma3-tiny";
  const std::clock_t start = std::clock();
  save_model(m, dir, ModelFormat::hf);
  const double cpu_s = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) bytes += e.file_size();
  std::printf("gemma3 tiny folder: %.1f MB in %.2f s of CPU\n", bytes * 1e-6, cpu_s);
  EXPECT_LT(cpu_s, 40.0);
  EXPECT_EQ(load_model(dir).vocab.size(), m.vocab.size());
}

TEST(Synth, UnknownShapeListsTheKnownOnes) {
  try {
    synthesize_model(options("gemma3", "gemma-9b"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown shape 'gemma-9b' for gemma3 (shapes: tiny, gemma-3-270m)");
  }
}

}  // namespace
}  // namespace slmkit
