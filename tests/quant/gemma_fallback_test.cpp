// The fallback report on a synthetic Gemma 3 270M: its 640-wide rows fit no K-quant block, so
// under Q4_K_M every matrix reading the 640-wide residual stream falls back (q4_K -> q5_0, and
// the attn_v layers that the preset lifts to q6_K -> q8_0), while ffn_down (2048-wide rows) keeps
// its K-quants. Each fallback is counted, carries its reason in the JSON report, and --strict
// refuses. Slow: 268M parameters are generated and quantized (~5 s alone, more on a busy machine).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "slmkit/error.h"
#include "slmkit/quantize.h"
#include "slmkit/synth.h"
#include "support/errors.h"

namespace slmkit {
namespace {

TEST(GemmaFallback, SlowGemma270mQ4KMReport) {
  SynthOptions so;
  so.arch = "gemma3";
  so.shape = "gemma-3-270m";
  so.seed = 1;
  const Model model = synthesize_model(so);
  QuantizeOptions q;
  q.type = "Q4_K_M";
  q.n_threads = 2;
  QuantizeReport r;
  const Model out = quantize_model(model, q, &r);

  std::map<std::string, int> fallbacks;  // "f32 -> q5_0": count
  int k_quants = 0;
  for (const TensorQuantization& t : r.tensors) {
    if (t.fallback) {
      ++fallbacks[t.from + " -> " + t.to];
      EXPECT_NE(t.reason.find("row of 640 not a multiple of"), std::string::npos) << t.name;
      EXPECT_EQ(t.name.find("ffn_down"), std::string::npos) << t.name;
    }
    if (t.name.find("ffn_down") != std::string::npos) {
      EXPECT_TRUE(t.to == "q4_K" || t.to == "q6_K") << t.name << " " << t.to;
      ++k_quants;
    }
  }
  // 18 layers: q, k, gate, up (72) and the 9 attn_v not lifted -> q5_0; 9 lifted attn_v -> q8_0.
  EXPECT_EQ(fallbacks, (std::map<std::string, int>{{"f32 -> q5_0", 81}, {"f32 -> q8_0", 9}}));
  EXPECT_EQ(r.n_fallback, 90);
  EXPECT_EQ(k_quants, 18);
  const auto j = r.to_json();
  EXPECT_EQ(j["n_fallback"], 90);
  int flagged = 0;
  for (const auto& t : j["tensors"]) flagged += t["fallback"].get<bool>() ? 1 : 0;
  EXPECT_EQ(flagged, 90);
  uint64_t bytes = 0;
  for (const Tensor& t : out.tensors()) bytes += t.n_bytes();
  EXPECT_EQ(bytes, r.bytes_out);

  q.strict = true;
  const Error e = testing::expect_error([&] { quantize_model(model, q); });
  EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
  EXPECT_TRUE(testing::contains(e, "--strict")) << e.what();
}

}  // namespace
}  // namespace slmkit
