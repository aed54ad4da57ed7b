// slmkit's ONNX exports run in ONNX Runtime 1.30 (npm onnxruntime-node, through
// tests/peers/ort_run.mjs) against our engine on the same weights: every family's tiny synthetic
// shape in each fp32 variant, and greedy generation on the real stories260K.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <nlohmann/json.hpp>

#include "slmkit/engine.h"
#include "slmkit/export_onnx.h"
#include "slmkit/synth.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;
using slmkit::testing::run_command;

fs::path ort_script() {
  return fs::path(SLMKIT_SOURCE_DIR) / "tests/peers/ort_run.mjs";
}

// Empty when node and the onnxruntime-node peer are there, else why not.
std::string ort_unavailable() {
  const fs::path peer =
      fs::path(SLMKIT_SOURCE_DIR) / "third_party/peers/node_modules/onnxruntime-node";
  if (!fs::exists(peer)) return "onnxruntime-node not installed at " + peer.string();
  std::string out;
  if (run_command("node --version", &out) != 0) return "node not found: " + out;
  return "";
}

#define SLMKIT_REQUIRE_ORT()                                                      \
  do {                                                                            \
    const std::string why = ort_unavailable();                                    \
    if (!why.empty()) GTEST_SKIP() << "ONNX Runtime peer not available: " << why; \
  } while (0)

struct OrtResult {
  std::vector<float> logits;  // [positions, vocab]
  std::vector<int32_t> generated;
};

OrtResult run_ort(nlohmann::json request, const fs::path& dir) {
  const fs::path req = dir / "request.json";
  const fs::path logits = dir / "logits.f32";
  request["logits_out"] = logits.string();
  slmkit::testing::write_bytes(req, [&] {
    const std::string s = request.dump();
    std::vector<std::byte> b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
  }());
  std::string out;
  const int rc = run_command("node " + ort_script().string() + " " + req.string(), &out);
  EXPECT_EQ(rc, 0) << out;
  OrtResult r;
  const std::vector<std::byte> bytes = slmkit::testing::read_bytes(logits);
  r.logits.resize(bytes.size() / sizeof(float));
  std::memcpy(r.logits.data(), bytes.data(), r.logits.size() * sizeof(float));
  const auto json = nlohmann::json::parse(out.substr(out.rfind('{')));
  for (const auto& t : json["generated"]) r.generated.push_back(t.get<int32_t>());
  return r;
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

std::vector<float> engine_logits(const Model& model, const std::vector<int32_t>& tokens) {
  Engine engine{Model(model)};
  SessionOptions so;
  so.n_ctx = 64;
  so.kv_type = DType::F32;  // the ONNX graphs keep K and V in f32
  so.all_logits = true;
  so.n_threads = 1;
  Session session(engine, so);
  const auto span = session.eval(tokens, true);
  return {span.begin(), span.end()};
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
  nlohmann::json base = {{"tokens", tokens},        {"n_layer", c.n_layer},
                         {"kv_heads", c.n_head_kv}, {"head_dim", c.head_dim},
                         {"max_length", 32},        {"kv_type", "float32"}};
  {
    nlohmann::json r = base;
    r["mode"] = "plain";
    r["model"] = (dir / "plain.onnx").string();
    expect_parity(ours, run_ort(r, dir).logits, c.vocab_size, so.arch + " model.onnx");
  }
  {
    nlohmann::json r = base;
    r["mode"] = "past";
    r["model"] = (dir / "with_past.onnx").string();
    r["chunks"] = {17, 1, 6};
    expect_parity(ours, run_ort(r, dir).logits, c.vocab_size, so.arch + " with past");
  }
  {
    nlohmann::json r = base;
    r["mode"] = "static";
    r["prefill"] = (dir / "prefill.onnx").string();
    r["decode"] = (dir / "decode.onnx").string();
    r["chunks"] = {17};
    expect_parity(ours, run_ort(r, dir).logits, c.vocab_size, so.arch + " prefill+decode");
  }
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
  const ModelConfig& c = model.config;
  nlohmann::json base = {{"tokens", prompt},       {"chunks", {prompt.size()}},
                         {"n_layer", c.n_layer},   {"kv_heads", c.n_head_kv},
                         {"head_dim", c.head_dim}, {"max_length", 128},
                         {"kv_type", "float32"},   {"greedy", 64}};
  nlohmann::json past = base;
  past["mode"] = "past";
  past["model"] = (dir / "with_past.onnx").string();
  EXPECT_EQ(run_ort(past, dir).generated, ours);
  nlohmann::json fixed = base;
  fixed["mode"] = "static";
  fixed["prefill"] = (dir / "prefill.onnx").string();
  fixed["decode"] = (dir / "decode.onnx").string();
  EXPECT_EQ(run_ort(fixed, dir).generated, ours);
  std::printf("stories260K: 64 greedy tokens identical (engine, with-past, prefill+decode): %s\n",
              tok.decode(ours).c_str());
}

}  // namespace
}  // namespace slmkit
