#include "slmkit/synth.h"

#include <gtest/gtest.h>

#include <cstring>

#include "formats/tensor_transforms.h"
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

TEST(Synth, WeightsHaveTheIntendedScale) {
  const Model m = synthesize_model(options("qwen2", "tiny"));
  const std::vector<float> w = m.get("blk.0.ffn_down.weight").to_f32();  // [64, 160]
  double sum = 0, sq = 0;
  for (float x : w) sum += x, sq += double(x) * x;
  const double mean = sum / w.size(), std_dev = std::sqrt(sq / w.size() - mean * mean);
  // uniform with std 1/sqrt(160) = 0.0791; 10,240 samples give a relative error near 1%
  EXPECT_NEAR(std_dev, 0.0791, 0.004);
  EXPECT_NEAR(mean, 0.0, 0.003);
  EXPECT_EQ(m.get("blk.0.attn_norm.weight").dtype(), DType::F32);
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
