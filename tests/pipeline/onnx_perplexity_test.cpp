// The scoring behind ONNX perplexity (the same method as compute_perplexity), and its agreement
// with our engine on stories260K's fp32 export when ONNX Runtime is there.
#include "pipeline/onnx_perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "peers/ort_peer.h"
#include "slmkit/engine.h"
#include "slmkit/export_onnx.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

TEST(OnnxPerplexity, TokenNllIsLogSoftmax) {
  // softmax([0, ln 3]) = [1/4, 3/4]; a large common offset must not change it.
  const std::vector<float> row = {1000.0f, 1000.0f + std::log(3.0f)};
  EXPECT_NEAR(pipeline::token_nll(row, 1), -std::log(0.75), 1e-4);
  EXPECT_NEAR(pipeline::token_nll(row, 0), -std::log(0.25), 1e-4);
  pipeline::NllAccumulator acc;
  acc.add(1.0);
  acc.add(3.0);
  const PerplexityResult r = acc.result();
  EXPECT_DOUBLE_EQ(r.ppl, std::exp(2.0));
  // sqrt(var / (n - 1)) * ppl with var = E[x^2] - E[x]^2 = 5 - 4.
  EXPECT_DOUBLE_EQ(r.ppl_error, std::exp(2.0));
  EXPECT_EQ(r.n_scored, 2);
}

TEST(OnnxPerplexity, MatchesEngineOnStories260KFp32) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::OrtPeer::available()) GTEST_SKIP() << peers::OrtPeer::unavailable_reason();
  Model model = load_model(testing::fixture("models/llama2c-stories260K/stories260K.bin"));
  const auto dir = testing::temp_dir("onnx-ppl") / "export";
  OnnxExportOptions eo;
  eo.variants = {OnnxVariant::plain};
  export_onnx(model, dir, eo);
  const Tokenizer tok(model.vocab);
  const std::vector<int32_t> tokens =
      tok.encode(testing::read_text(testing::fixture("text/tinystories_val_subset.txt")), true);
  PerplexityOptions o;
  o.n_ctx = 64;
  o.n_chunks = 2;
  o.bos_id = tok.bos_id();
  o.add_bos = true;
  o.n_threads = 1;
  o.kv_type = DType::F32;
  const PerplexityResult onnx = pipeline::onnx_perplexity(dir, dir / "onnx/model.onnx", tokens, o);
  const Engine engine(std::move(model));
  const PerplexityResult ours = compute_perplexity(engine, tokens, o);
  EXPECT_EQ(onnx.n_scored, ours.n_scored);
  EXPECT_EQ(onnx.n_chunks, 2);
  // Both f32 end to end; the difference is summation order in two runtimes (measured 3e-5
  // relative on this text), far below any quantization's effect.
  EXPECT_NEAR(onnx.ppl, ours.ppl, ours.ppl * 1e-3);
}

}  // namespace
}  // namespace slmkit
