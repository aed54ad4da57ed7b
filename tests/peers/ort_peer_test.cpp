// The ORT peer's own plumbing on a real export of stories260K: the shape read back from the
// folder, the timing mode `slmkit bench --vs ort` uses, and errors that name what is wrong.
#include <gtest/gtest.h>

#include "peers/ort_peer.h"
#include "slmkit/error.h"
#include "slmkit/export_onnx.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "support/ort.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

// One export shared by the tests of this file (fp32 and fp16, every variant, cache 64).
const fs::path& stories_export() {
  static const fs::path dir = [] {
    const fs::path d = slmkit::testing::temp_dir("ort_peer_export") / "stories260K";
    const Model model =
        load_model(slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf"));
    OnnxExportOptions o;
    o.precisions = {OnnxPrecision::fp32, OnnxPrecision::fp16};
    o.max_length = 64;
    export_onnx(model, d, o);
    return d;
  }();
  return dir;
}

TEST(OrtPeer, ShapeOfExportReadsConfigAndGraphs) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = stories_export();
  const peers::OrtModelShape s = peers::ort_shape_of_export(dir);
  // stories260K: 5 layers, 4 KV heads, dim 64 / 8 heads.
  EXPECT_EQ(s.n_layer, 5);
  EXPECT_EQ(s.kv_heads, 4);
  EXPECT_EQ(s.head_dim, 8);
  EXPECT_EQ(s.max_length, 64);
  EXPECT_FALSE(s.kv_f16);
  const peers::OrtModelShape h = peers::ort_shape_of_graph(dir / "onnx/model_fp16.onnx");
  EXPECT_TRUE(h.kv_f16);
  EXPECT_EQ(h.n_layer, 5);
  EXPECT_EQ(peers::ort_shape_of_graph(dir / "onnx/prefill_fp16.onnx").max_length, 64);
}

TEST(OrtPeer, TimesPromptAndDecodeInEachCacheMode) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ORT();
  const fs::path dir = stories_export();
  peers::OrtTimingRequest t;
  t.shape = peers::ort_shape_of_export(dir);
  t.n_prompt = 16;
  t.n_gen = 8;
  t.repetitions = 3;
  t.mode = peers::OrtMode::past;
  t.model = dir / "onnx/model.onnx";
  const peers::OrtTimingResult past = peers::ort_time(t);
  ASSERT_EQ(past.prompt_ns.size(), 3u);
  ASSERT_EQ(past.gen_ns.size(), 3u);
  for (double v : past.prompt_ns) EXPECT_GT(v, 0);
  for (double v : past.gen_ns) EXPECT_GT(v, 0);
  // node + libonnxruntime alone take tens of MB; a zero would mean the field was not read.
  EXPECT_GT(past.peak_rss_bytes, 20u << 20);

  t.mode = peers::OrtMode::static_cache;
  t.prefill = dir / "onnx/prefill.onnx";
  t.decode = dir / "onnx/decode.onnx";
  t.n_prompt = 0;
  const peers::OrtTimingResult fixed = peers::ort_time(t);
  EXPECT_TRUE(fixed.prompt_ns.empty());
  EXPECT_EQ(fixed.gen_ns.size(), 3u);

  t.n_gen = 64;  // one more than the cache holds after the vocabulary probe
  EXPECT_THROW(peers::ort_time(t), Error);
}

TEST(OrtPeer, GreedyInFp16MatchesFp32OnStories) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ORT();
  const fs::path dir = stories_export();
  peers::OrtRunRequest r;
  r.mode = peers::OrtMode::past;
  r.tokens =
      Tokenizer::from_path(slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf"))
          .encode("Once upon a time");
  r.greedy = 16;
  r.model = dir / "onnx/model.onnx";
  r.shape = peers::ort_shape_of_graph(r.model);
  const auto f32 = peers::ort_run(r);
  r.model = dir / "onnx/model_fp16.onnx";
  r.shape = peers::ort_shape_of_graph(r.model);
  const auto f16 = peers::ort_run(r);
  EXPECT_EQ(f32.vocab, 512);
  // Greedy continuations of this prompt have wide top-1 margins on stories260K; fp16 keeps them.
  EXPECT_EQ(f32.generated, f16.generated);
}

TEST(OrtPeer, RunnerFailureNamesTheGraph) {
  SLMKIT_REQUIRE_ORT();
  const fs::path dir = slmkit::testing::temp_dir("ort_peer_bad");
  slmkit::testing::write_bytes(dir / "model.onnx", {std::byte{1}, std::byte{2}, std::byte{3}});
  peers::OrtRunRequest r;
  r.mode = peers::OrtMode::plain;
  r.model = dir / "model.onnx";
  r.tokens = {1, 2};
  try {
    peers::ort_run(r);
    FAIL() << "a 3-byte graph loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ONNX Runtime (plain mode) failed"), std::string::npos)
        << e.what();
  }
  r.model = dir / "absent.onnx";
  EXPECT_THROW(peers::ort_run(r), Error);
}

}  // namespace
}  // namespace slmkit
