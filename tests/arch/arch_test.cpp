#include "arch/arch.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "formats/tensor_transforms.h"
#include "slmkit/error.h"
#include "synth/shapes.h"

namespace slmkit {
namespace {

Tensor iota_tensor(const std::string& name, Shape shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0.0f);
  std::vector<std::byte> bytes(v.size() * 4);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return Tensor::owned(name, DType::F32, std::move(shape), std::move(bytes));
}

TEST(Arch, RegistryKnowsEveryFamily) {
  for (const char* name : {"gpt2", "llama", "gemma3", "qwen2"})
    ASSERT_NE(arch::find(name), nullptr) << name;
  EXPECT_EQ(arch::find_by_hf_model_type("gemma3_text")->name, "gemma3");
  EXPECT_EQ(arch::find_by_hf_model_type("mistral")->name, "llama");
  EXPECT_EQ(arch::find("mamba"), nullptr);
  EXPECT_EQ(arch::supported_names(), "gpt2, llama, gemma3, qwen2");
}

// The converter's permute(): within a head, row i*half + j (rotate-half) goes to row 2j + i.
TEST(Arch, RopePermutationMatchesLlamaCppConverter) {
  const Tensor q = iota_tensor("blk.0.attn_q.weight", {8, 1});  // 2 heads of 4 rows
  const Tensor p = permute_rope_rows(q, 2, RopeStyle::neox, RopeStyle::normal);
  const std::vector<float> got = p.to_f32();
  EXPECT_EQ(got, (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
  const Tensor back = permute_rope_rows(p, 2, RopeStyle::normal, RopeStyle::neox);
  EXPECT_EQ(back.to_f32(), q.to_f32());
  EXPECT_THROW(permute_rope_rows(iota_tensor("x", {6, 1}), 2, RopeStyle::neox, RopeStyle::normal),
               Error);
}

TEST(Arch, TransposeIsExact) {
  const Tensor t = transpose_2d(iota_tensor("w", {2, 3}));
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.to_f32(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Arch, ExpectedTensorsFollowTheConfig) {
  const ModelConfig gpt2 = synth::shape_config(*synth::find_shape("gpt2", "distilgpt2"));
  const auto specs = arch::expected_tensors(gpt2);
  // wte, wpe, 6 layers x 12 (2 norms x 2, qkv x 2, out x 2, up x 2, down x 2), ln_f x 2, output
  EXPECT_EQ(specs.size(), 2u + 6 * 12 + 2 + 1);
  EXPECT_EQ(specs[1].name, "position_embd.weight");
  EXPECT_EQ(specs[1].shape, (Shape{1024, 768}));
  EXPECT_FALSE(specs.back().required);  // tied head
  const ModelConfig gemma = synth::shape_config(*synth::find_shape("gemma3", "gemma-3-270m"));
  bool found_q_norm = false;
  for (const auto& s : arch::expected_tensors(gemma)) {
    if (s.name == "blk.0.attn_q.weight") {
      EXPECT_EQ(s.shape, (Shape{1024, 640}));  // 4 heads x 256
    }
    if (s.name == "blk.17.attn_q_norm.weight") {
      found_q_norm = true;
      EXPECT_EQ(s.shape, (Shape{256}));
    }
  }
  EXPECT_TRUE(found_q_norm);
  // Gemma 3: five sliding layers, then one global, repeated.
  EXPECT_EQ(gemma.layer_attention[4], AttentionKind::sliding);
  EXPECT_EQ(gemma.layer_attention[5], AttentionKind::global);
  EXPECT_EQ(gemma.layer_attention[17], AttentionKind::global);
}

TEST(Arch, CheckModelNamesTheProblem) {
  Model m;
  m.config = synth::shape_config(*synth::find_shape("llama", "tiny"));
  try {
    arch::check_model(m, "model.gguf");
    FAIL() << "an empty model passed";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "model.gguf: tensor 'token_embd.weight' is missing (a llama model with this "
                 "config needs it)");
  }
  m.config.n_head_kv = 3;
  EXPECT_THROW(arch::check_model(m, "x"), Error);
}

// Llama 3.2's rope_freqs for factor 32, low 1, high 4, original context 8192, theta 500000, 64
// dims: the converter's formula evaluated in double precision (python, math module) gives three
// smoothed factors, 1.651329, 3.292262, 9.666729 at pairs 15-17; float32 frequencies differ in
// the 6th digit.
TEST(Arch, Llama3RopeFactors) {
  const ModelConfig c = synth::shape_config(*synth::find_shape("llama", "llama-3.2-1b"));
  const std::vector<float> f = llama3_rope_factors(c).to_f32();
  ASSERT_EQ(f.size(), 32u);
  EXPECT_EQ(f[0], 1.0f);    // highest frequency: unscaled
  EXPECT_EQ(f[31], 32.0f);  // lowest frequency: divided by the full factor
  for (size_t i = 0; i < 15; ++i) EXPECT_EQ(f[i], 1.0f) << i;
  EXPECT_NEAR(f[15], 1.651329f, 1e-4f);
  EXPECT_NEAR(f[16], 3.292262f, 1e-4f);
  EXPECT_NEAR(f[17], 9.666729f, 1e-4f);
  for (size_t i = 18; i < 32; ++i) EXPECT_EQ(f[i], 32.0f) << i;
}

}  // namespace
}  // namespace slmkit
