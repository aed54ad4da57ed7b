// ONNX Runtime as a logit source: the ONNX perplexity (the evaluation driver over the ORT peer)
// agrees with our engine on stories260K's fp32 export.
#include "peers/ort_logits.h"

#include <gtest/gtest.h>

#include <vector>

#include "slmkit/engine.h"
#include "slmkit/export_onnx.h"
#include "slmkit/model.h"
#include "slmkit/perplexity.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

TEST(OrtLogits, PerplexityMatchesEngineOnStories260KFp32) {
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
  const OnnxChunkLogits graph = onnx_chunk_logits(dir / "onnx/decoder_model.onnx", 1);
  const PerplexityResult onnx = compute_perplexity(graph.logits, tokens, o);
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
