// The preset rules on made-up tensor lists: which tensors are kept, the layer-dependent choices,
// and the fallbacks for rows that do not fit a block (Gemma 3 270M's 640-wide rows, tiny models).
// Agreement with llama.cpp on a real model is tested in tests/peers/quant_presets_test.cpp.
#include "quant/presets.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "slmkit/tensor.h"

namespace slmkit::quant {
namespace {

Tensor f32(const std::string& name, Shape shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return Tensor::owned(name, DType::F32, std::move(shape),
                       std::vector<std::byte>(static_cast<size_t>(n) * 4));
}

std::vector<Tensor> llama_like(int n_layer, int64_t dim, int64_t ffn, bool with_output) {
  std::vector<Tensor> t;
  t.push_back(f32("token_embd.weight", {64, dim}));
  for (int i = 0; i < n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    t.push_back(f32(p + "attn_norm.weight", {dim}));
    t.push_back(f32(p + "attn_q.weight", {dim, dim}));
    t.push_back(f32(p + "attn_k.weight", {dim, dim}));
    t.push_back(f32(p + "attn_v.weight", {dim, dim}));
    t.push_back(f32(p + "attn_output.weight", {dim, dim}));
    t.push_back(f32(p + "ffn_gate.weight", {ffn, dim}));
    t.push_back(f32(p + "ffn_up.weight", {ffn, dim}));
    t.push_back(f32(p + "ffn_down.weight", {dim, ffn}));
  }
  t.push_back(f32("output_norm.weight", {dim}));
  if (with_output) t.push_back(f32("output.weight", {64, dim}));
  return t;
}

const TensorPlan& find(const std::vector<TensorPlan>& plans, const std::string& name) {
  for (const TensorPlan& p : plans) {
    if (p.name == name) return p;
  }
  throw std::runtime_error("no plan for " + name);
}

TEST(QuantPresets, NamesRoundTrip) {
  for (std::string_view name : preset_names()) {
    const auto p = preset_from_name(name);
    ASSERT_TRUE(p.has_value()) << name;
    EXPECT_EQ(preset_name(*p), name);
  }
  EXPECT_EQ(preset_from_name("q4_k_m"), Preset::Q4_K_M);
  EXPECT_EQ(preset_from_name("Q4_K"), Preset::Q4_K_M);
  EXPECT_EQ(preset_base_type(Preset::Q3_K_M), DType::Q3_K);
  EXPECT_FALSE(preset_from_name("Q7_K").has_value());
}

// Q4_K_M on 8 layers: use_more_bits picks layers 0 (first eighth), 7 (last eighth) and 3, 6
// ((i - 1) % 3 == 2) for Q6_K in attn_v and ffn_down; output gets Q6_K; norms stay F32.
TEST(QuantPresets, Q4KMLayerRules) {
  const auto tensors = llama_like(8, 256, 512, true);
  const auto plans = plan_types(Preset::Q4_K_M, tensors, {8, 8, 8});
  EXPECT_EQ(find(plans, "output.weight").to, DType::Q6_K);
  EXPECT_EQ(find(plans, "token_embd.weight").to, DType::Q4_K);
  EXPECT_EQ(find(plans, "blk.0.attn_norm.weight").to, DType::F32);
  const DType expect[8] = {DType::Q6_K, DType::Q4_K, DType::Q4_K, DType::Q6_K,
                           DType::Q4_K, DType::Q4_K, DType::Q6_K, DType::Q6_K};
  for (int i = 0; i < 8; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    EXPECT_EQ(find(plans, p + "attn_v.weight").to, expect[i]) << i;
    EXPECT_EQ(find(plans, p + "ffn_down.weight").to, expect[i]) << i;
    EXPECT_EQ(find(plans, p + "attn_q.weight").to, DType::Q4_K) << i;
  }
}

TEST(QuantPresets, TiedEmbeddingTakesTheOutputRule) {
  const auto plans = plan_types(Preset::Q4_K_S, llama_like(2, 256, 512, false), {2, 8, 8});
  EXPECT_EQ(find(plans, "token_embd.weight").to, DType::Q6_K);
  EXPECT_EQ(find(plans, "blk.0.attn_v.weight").to, DType::Q5_K);  // Q4_K_S: first 4 attn_v
}

TEST(QuantPresets, PureGivesEveryMatrixTheBaseType) {
  PlanOptions options;
  options.pure = true;
  const auto plans = plan_types(Preset::Q2_K, llama_like(2, 256, 512, true), {2, 8, 2}, options);
  for (const TensorPlan& p : plans) {
    if (p.name.find("norm") == std::string::npos) {
      EXPECT_EQ(p.to, DType::Q2_K) << p.name;
    }
  }
}

// 640-wide rows (Gemma 3 270M) do not fit 256: Q4_K falls back to Q5_0 with the reason recorded;
// 40-wide rows fit neither 256 nor 32 and go to F16.
TEST(QuantPresets, FallbacksAreRecorded) {
  std::vector<Tensor> t = {f32("blk.0.attn_q.weight", {640, 640}),
                           f32("blk.0.ffn_up.weight", {8, 40}),
                           f32("blk.0.ffn_down.weight", {640, 2048})};
  const auto plans = plan_types(Preset::Q4_K_M, t, {1, 4, 1});
  EXPECT_EQ(plans[0].to, DType::Q5_0);
  EXPECT_TRUE(plans[0].fallback);
  EXPECT_NE(plans[0].reason.find("640"), std::string::npos) << plans[0].reason;
  EXPECT_EQ(plans[1].to, DType::F16);
  EXPECT_TRUE(plans[1].fallback);
  EXPECT_EQ(plans[2].to, DType::Q6_K);  // 2048 fits; the single layer is "first eighth"
  EXPECT_FALSE(plans[2].fallback);
}

}  // namespace
}  // namespace slmkit::quant
