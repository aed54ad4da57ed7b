// slmkit's ONNX exports run in ONNX Runtime 1.30 (npm onnxruntime-node, through
// the ORT peer, src/peers/ort_peer.h) against our engine on the same weights: every family's tiny
// synthetic shape in each fp32 variant, and greedy generation on the real stories260K.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "peers/ort_peer.h"
#include "slmkit/engine.h"
#include "slmkit/export_onnx.h"
#include "slmkit/synth.h"
#include "slmkit/tokenizer.h"
#include "support/engine_logits.h"
#include "support/fixtures.h"
#include "support/logit_agreement.h"
#include "support/ort.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

peers::OrtModelShape shape_of(const ModelConfig& c, int64_t max_length = 0) {
  peers::OrtModelShape s;
  s.n_layer = c.n_layer;
  s.kv_heads = c.n_head_kv;
  s.head_dim = c.head_dim;
  s.max_length = max_length;
  return s;
}

std::vector<int32_t> top_k(const float* row, int64_t vocab, int k) {
  std::vector<int32_t> idx(static_cast<size_t>(vocab));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return row[a] > row[b]; });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

// The fp32 bound: max |diff| <= 1e-4 x the logit range, and the same top-5 at every
// position. A rank may differ only where our own logits of the two tokens are within that
// tolerance (a tie that float rounding order decides).
void expect_parity(const std::vector<float>& ours, const std::vector<float>& theirs, int64_t vocab,
                   const std::string& what) {
  ASSERT_EQ(ours.size(), theirs.size()) << what;
  const auto [lo, hi] = std::minmax_element(ours.begin(), ours.end());
  const double tol = 1e-4 * (*hi - *lo);
  double max_diff = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(ours[i] - theirs[i])));
  }
  EXPECT_LE(max_diff, tol) << what;
  const int64_t n = static_cast<int64_t>(ours.size()) / vocab;
  int exact = 0;
  for (int64_t t = 0; t < n; ++t) {
    const float* a = ours.data() + t * vocab;
    const float* b = theirs.data() + t * vocab;
    const auto ta = top_k(a, vocab, 5), tb = top_k(b, vocab, 5);
    if (ta == tb) {
      ++exact;
      continue;
    }
    for (size_t k = 0; k < 5; ++k) {
      EXPECT_LE(std::fabs(a[ta[k]] - a[tb[k]]), tol)
          << what << ": position " << t << " rank " << k << " is " << tb[k] << " in ONNX Runtime, "
          << ta[k] << " in our engine";
    }
  }
  std::printf(
      "%s: max |diff| %.3g (bound %.3g = 1e-4 x range %.3g), top-5 identical at %d of "
      "%lld positions\n",
      what.c_str(), max_diff, tol, *hi - *lo, exact, static_cast<long long>(n));
}

// The ONNX graphs keep K and V in f32, as engine_all_logits does.
std::vector<float> engine_logits(const Model& model, const std::vector<int32_t>& tokens) {
  return testing::engine_all_logits(model, tokens, 64);
}

class OnnxParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxParity, Fp32VariantsMatchEngine) {
  SLMKIT_REQUIRE_ORT();
  SynthOptions so;
  so.arch = GetParam();
  so.seed = 7;
  const Model model = synthesize_model(so);
  const ModelConfig& c = model.config;
  // 24 tokens: past the 16-token window of Gemma 3's tiny shape's sliding layers.
  std::vector<int32_t> tokens;
  for (int i = 0; i < 24; ++i) tokens.push_back(static_cast<int32_t>((i * 7919 + 13) % 500));
  const std::vector<float> ours = engine_logits(model, tokens);

  const fs::path dir = slmkit::testing::temp_dir("onnx_parity_" + so.arch);
  for (OnnxVariant v :
       {OnnxVariant::plain, OnnxVariant::with_past, OnnxVariant::prefill, OnnxVariant::decode}) {
    OnnxGraphOptions go;
    go.variant = v;
    go.max_length = 32;
    write_onnx_graph(model, go, dir / (std::string(onnx_variant_name(v)) + ".onnx"));
  }
  peers::OrtRunRequest r;
  r.tokens = tokens;
  r.shape = shape_of(c, 32);
  r.want_logits = true;
  {
    r.mode = peers::OrtMode::plain;
    r.model = dir / "plain.onnx";
    expect_parity(ours, peers::ort_run(r).logits, c.vocab_size, so.arch + " model.onnx");
  }
  {
    r.mode = peers::OrtMode::past;
    r.model = dir / "with_past.onnx";
    r.chunks = {17, 1, 6};
    expect_parity(ours, peers::ort_run(r).logits, c.vocab_size, so.arch + " with past");
  }
  {
    r.mode = peers::OrtMode::static_cache;
    r.prefill = dir / "prefill.onnx";
    r.decode = dir / "decode.onnx";
    r.chunks = {17, 7};
    expect_parity(ours, peers::ort_run(r).logits, c.vocab_size, so.arch + " prefill+decode");
  }
}

// External data (as for graphs over 2 GiB), forced with a lowered threshold: ONNX Runtime
// finds model.onnx_data beside the graph and computes the same logits.
TEST(OnnxParity, ExternalDataLoadsInOrt) {
  SLMKIT_REQUIRE_ORT();
  SynthOptions so;
  so.arch = "qwen2";
  const Model model = synthesize_model(so);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  const fs::path dir = slmkit::testing::temp_dir("onnx_external");
  OnnxGraphOptions go;
  go.variant = OnnxVariant::with_past;
  go.external_data_min_bytes = 4096;
  write_onnx_graph(model, go, dir / "model.onnx");
  ASSERT_TRUE(fs::exists(dir / "model.onnx_data"));
  // Every matrix is external: what is left is the graph and small vectors.
  EXPECT_LT(fs::file_size(dir / "model.onnx"), 200u * 1024);
  EXPECT_GT(fs::file_size(dir / "model.onnx_data"), static_cast<uintmax_t>(model.n_bytes() / 2));
  peers::OrtRunRequest r;
  r.mode = peers::OrtMode::past;
  r.model = dir / "model.onnx";
  r.tokens = tokens;
  r.chunks = {5, 3};
  r.shape = shape_of(model.config);
  r.want_logits = true;
  expect_parity(engine_logits(model, tokens), peers::ort_run(r).logits, model.config.vocab_size,
                "qwen2 external data");
}

INSTANTIATE_TEST_SUITE_P(Families, OnnxParity,
                         ::testing::Values("gpt2", "llama", "gemma3", "qwen2"));

TEST(OnnxParity, Stories260KGreedy64WithPastAndStaticCache) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ORT();
  const fs::path path = slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf");
  const Model model = load_model(path);
  const Tokenizer tok = Tokenizer::from_path(path);
  const std::vector<int32_t> prompt = tok.encode("Once upon a time");

  Engine engine{Model(model)};
  SessionOptions so;
  so.n_ctx = 128;
  so.kv_type = DType::F32;
  so.n_threads = 1;
  Session session(engine, so);
  std::vector<int32_t> ours;
  auto logits = session.eval(prompt);
  for (int i = 0; i < 64; ++i) {
    const auto best =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ours.push_back(best);
    if (i < 63) logits = session.eval(std::vector<int32_t>{best});
  }

  const fs::path dir = slmkit::testing::temp_dir("onnx_stories260k");
  for (OnnxVariant v : {OnnxVariant::with_past, OnnxVariant::prefill, OnnxVariant::decode}) {
    OnnxGraphOptions go;
    go.variant = v;
    go.max_length = 128;
    write_onnx_graph(model, go, dir / (std::string(onnx_variant_name(v)) + ".onnx"));
  }
  peers::OrtRunRequest r;
  r.tokens = prompt;
  r.shape = shape_of(model.config, 128);
  r.greedy = 64;
  r.mode = peers::OrtMode::past;
  r.model = dir / "with_past.onnx";
  EXPECT_EQ(peers::ort_run(r).generated, ours);
  r.mode = peers::OrtMode::static_cache;
  r.prefill = dir / "prefill.onnx";
  r.decode = dir / "decode.onnx";
  EXPECT_EQ(peers::ort_run(r).generated, ours);
  std::printf("stories260K: 64 greedy tokens identical (engine, with-past, prefill+decode): %s\n",
              tok.decode(ours).c_str());
}

// Reduced precisions against our f32 engine over 512 tokens of real text: the share of positions
// with the same top-1 token and the mean KL divergence. fp16 rounds to 11 significant bits, finer
// than llama.cpp's Q8_0 (KLD 1e-4, 99.45% top-1 on stories3M, fixtures README). int8 dynamic
// quantizes each activation row set to 8 bits with one scale per call, and stories260K's 64-wide
// rows carry outliers, so it lands between Q4_0 and Q2_K there; measured here: per channel 95.7%
// and KLD 0.0081, per channel with 7-bit weights (reduce_range) 94.3% and 0.0103, per tensor
// with reduce_range 92.2% and 0.021, the same on AVX-512 VNNI and on AVX2 (qemu Haswell). The
// bounds leave ~30% headroom: every weight type here keeps the integer MatMul exact on every CPU
// (docs/onnx.md, int8 on every CPU), so only kernel summation order can move these numbers.
// q4 (MatMulNBits) uses ONNX Runtime's RTN scheme (scale = signed max / -8, as llama.cpp's
// Q4_0), and ONNX Runtime agrees with our engine on the same dequantized weights (KLD 5e-7,
// tests/peers/onnx_q4_test.cpp), where stories3M loses what llama.cpp's Q4_0 loses (KLD 0.008).
// stories260K is far more fragile (64-wide rows, 260K parameters): measured block 32 symmetric
// 80.1% / KLD 0.141 (q4f16 the same; the earlier amax / 7 scale gave 0.171), block 128 81.3% /
// 0.154, block 64 with zero points 79.9% / 0.167, block 32 with zero points 82.0% / 0.113,
// accuracy_level 4 (int8 activations) 79.7% / 0.139: neither block size nor accuracy_level
// explains the loss, 4-bit rounding of this model does. Bounds: ~4 points of top-1 (20 of 512
// positions) and ~20% on KLD.
struct ReducedCase {
  const char* name;
  OnnxPrecision precision;
  bool per_channel;
  OnnxInt8Weights weights;
  double min_top1;
  double max_kld;
  int64_t q4_block = 32;
  bool q4_symmetric = true;
  int64_t q4_accuracy_level = 0;
};

constexpr OnnxInt8Weights kU8 = OnnxInt8Weights::u8;
constexpr OnnxInt8Weights kS8Reduced = OnnxInt8Weights::s8_reduced;

void PrintTo(const ReducedCase& c, std::ostream* os) {
  *os << c.name;
}

class OnnxReduced : public ::testing::TestWithParam<ReducedCase> {};

TEST_P(OnnxReduced, Stories260KTopOneAndKld) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ORT();
  const ReducedCase rc = GetParam();
  const fs::path path = slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf");
  const Model model = load_model(path);
  const Tokenizer tok = Tokenizer::from_path(path);
  std::vector<int32_t> tokens = tok.encode(
      slmkit::testing::read_text(slmkit::testing::fixture("text/tinystories_val_subset.txt"))
          .substr(0, 4000));
  ASSERT_GE(tokens.size(), 512u);
  tokens.resize(512);

  const std::vector<float> ours = testing::engine_all_logits(model, tokens, 512);

  const fs::path dir = slmkit::testing::temp_dir(std::string("onnx_reduced_") + rc.name);
  OnnxGraphOptions go;
  go.precision = rc.precision;
  go.int8_per_channel = rc.per_channel;
  go.int8_weights = rc.weights;
  go.q4_block_size = rc.q4_block;
  go.q4_symmetric = rc.q4_symmetric;
  go.q4_accuracy_level = rc.q4_accuracy_level;
  write_onnx_graph(model, go, dir / "model.onnx");
  peers::OrtRunRequest r;
  r.mode = peers::OrtMode::plain;
  r.model = dir / "model.onnx";
  r.tokens = tokens;
  r.want_logits = true;
  const std::vector<float> theirs = peers::ort_run(r).logits;
  ASSERT_EQ(theirs.size(), ours.size());
  const int64_t V = model.config.vocab_size;
  const auto [top1, kld] = testing::top1_and_kld(ours, theirs, V);
  std::printf("stories260K %s vs engine f32, 512 tokens: same top-1 %.2f%%, mean KLD %.3g\n",
              rc.name, 100 * top1, kld);
  EXPECT_GE(top1, rc.min_top1);
  EXPECT_LE(kld, rc.max_kld);
}

INSTANTIATE_TEST_SUITE_P(
    Precisions, OnnxReduced,
    ::testing::Values(ReducedCase{"fp16", OnnxPrecision::fp16, true, kU8, 0.99, 1e-3},
                      ReducedCase{"int8_per_channel", OnnxPrecision::int8, true, kU8, 0.93, 0.012},
                      ReducedCase{"int8_per_channel_reduce_range", OnnxPrecision::int8, true,
                                  kS8Reduced, 0.91, 0.0135},
                      ReducedCase{"int8_per_tensor_reduce_range", OnnxPrecision::int8, false,
                                  kS8Reduced, 0.89, 0.03},
                      ReducedCase{"q4_b32_sym", OnnxPrecision::q4, true, kU8, 0.76, 0.17},
                      ReducedCase{"q4_b64_zp", OnnxPrecision::q4, true, kU8, 0.76, 0.2, 64, false},
                      ReducedCase{"q4f16_b32", OnnxPrecision::q4f16, true, kU8, 0.76, 0.17},
                      ReducedCase{"q4_b128_sym", OnnxPrecision::q4, true, kU8, 0.77, 0.185, 128},
                      ReducedCase{"q4_b32_zp", OnnxPrecision::q4, true, kU8, 0.78, 0.14, 32, false},
                      ReducedCase{"q4_b32_acc4", OnnxPrecision::q4, true, kU8, 0.75, 0.17, 32, true,
                                  4}),
    [](const ::testing::TestParamInfo<ReducedCase>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace slmkit
