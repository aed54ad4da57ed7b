// `slmkit quantize -t auto` end to end against llama.cpp: the mixed file of stories260K (Q4_0,
// Q5_0, Q5_1, Q8_0 and F16 tensors side by side, its rows fitting no K-quant) at the size of its
// Q4_K_M file loads in llama.cpp with the file type we wrote, and llama.cpp's greedy continuation
// equals our engine's on the same file, within the parity argument of
// engine_quant_parity_test.cpp: the two sides may round an activation to adjacent 8-bit steps, so
// a greedy step may differ only where llama.cpp's top two logits lie within 2 x 2E of each other,
// E being how far rounding every activation moves our logits (measured on the same weights
// widened to F32).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "peers/llama_cpp_peer.h"
#include "quant/llama_ftype.h"
#include "slmkit/engine.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

Model widened(const Model& m) {
  Model out;
  out.config = m.config;
  out.vocab = m.vocab;
  out.source = m.source;
  for (const Tensor& t : m.tensors()) {
    const std::vector<float> v = dequantize(t);
    std::vector<std::byte> bytes(v.size() * sizeof(float));
    std::memcpy(bytes.data(), v.data(), bytes.size());
    out.add(Tensor::owned(t.name(), DType::F32, t.shape(), std::move(bytes)));
  }
  out.config.file_type = -1;
  return out;
}

std::vector<float> all_logits(const Model& model, const std::vector<int32_t>& tokens) {
  Engine engine{Model(model)};
  SessionOptions so;
  so.n_ctx = 128;
  so.n_threads = 1;
  so.kv_type = DType::F32;
  so.all_logits = true;
  Session session(engine, so);
  const std::span<const float> v = session.eval(tokens, true);
  return {v.begin(), v.end()};
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}

double top2_margin(std::span<const float> row) {
  float a = -INFINITY, b = -INFINITY;
  for (float v : row) {
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) {
      b = v;
    }
  }
  return static_cast<double>(a) - static_cast<double>(b);
}

TEST(QuantAutoPeer, Stories260KMixRunsInLlamaCpp) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::LlamaCppPeer::available())
    GTEST_SKIP() << "llama.cpp peer not available: " << peers::LlamaCppPeer::unavailable_reason();
  const fs::path source = testing::fixture("models/gguf-stories260K/stories260K.gguf");
  const fs::path dir = testing::temp_dir("quant_auto_peer");
  const Model model = load_model(source);
  QuantizeOptions qo;
  qo.type = "Q4_K_M";
  save_model(quantize_model(model, qo), dir / "q4km.gguf", ModelFormat::gguf);
  const uint64_t target = fs::file_size(dir / "q4km.gguf");

  const std::string all = testing::read_text(testing::fixture("text/tinystories_val_subset.txt"));
  {
    std::ofstream calib(dir / "calib.txt", std::ios::binary);
    calib << all.substr(0, 20000);  // far from the held-out tail
  }
  const fs::path gguf = dir / "auto.gguf";
  std::string output;
  ASSERT_EQ(
      testing::run_command(testing::cli_path().string() + " quantize " + source.string() +
                               " -t auto -f " + (dir / "calib.txt").string() + " --target-size " +
                               std::to_string(target) + " -o " + gguf.string(),
                           &output),
      0)
      << output;
  ASSERT_LE(fs::file_size(gguf), target);

  const Model ours = load_model(gguf);
  std::string types;
  for (const Tensor& t : ours.tensors()) {
    const std::string n(dtype_name(t.dtype()));
    if (types.find(n) == std::string::npos) types += n + " ";
  }
  const peers::LlamaCppModel theirs_model = peers::LlamaCppModel::load(gguf);
  // general.file_type is the llama_ftype of the type holding most matrix bytes, as llama.cpp
  // names a mixed file (here F16: the five 172-wide ffn_down matrices).
  EXPECT_EQ(theirs_model.metadata("general.file_type"),
            std::to_string(quant::llama_ftype_of(ours)));

  const std::vector<int32_t> prompt =
      Tokenizer::from_path(source).encode("Once upon a time, there was a big dog named Max.", true);
  constexpr int kGreedy = 48;
  peers::LlamaCppContextOptions co;
  co.n_ctx = 128;
  co.n_batch = 128;
  co.n_threads = 1;
  co.kv_cache_f32 = true;
  co.flash_attention = peers::LlamaCppFlashAttention::disabled;
  const std::vector<int32_t> theirs =
      peers::LlamaCppContext(theirs_model, co).generate_greedy(prompt, kGreedy);
  std::vector<int32_t> tokens = prompt;
  tokens.insert(tokens.end(), theirs.begin(), theirs.end());
  const peers::LlamaCppLogits want = peers::LlamaCppContext(theirs_model, co).logits(tokens);
  const std::vector<float> got = all_logits(ours, tokens);
  const std::vector<float> f32_activations = all_logits(widened(ours), tokens);
  ASSERT_EQ(got.size(), want.values.size());
  const auto [lo, hi] = std::minmax_element(want.values.begin(), want.values.end());
  const double range = static_cast<double>(*hi) - static_cast<double>(*lo);
  const double e = max_abs_diff(got, f32_activations) / range;
  const double relative = max_abs_diff(got, want.values) / range;

  Engine engine{Model(ours)};
  SessionOptions so;
  so.n_ctx = 128;
  so.n_threads = 1;
  so.kv_type = DType::F32;
  Session session(engine, so);
  GenerateOptions go;
  go.n_predict = kGreedy;
  go.sampling.temperature = 0;
  go.stop_tokens = {-1};
  const std::vector<int32_t> mine = generate(session, prompt, go).tokens;
  size_t same = 0;
  while (same < mine.size() && same < theirs.size() && mine[same] == theirs[same]) ++same;
  std::printf(
      "auto mix (%s) %llu bytes: max |diff| %.2e of the logit range, bound 2E %.2e; "
      "greedy %zu of %d identical\n",
      types.c_str(), static_cast<unsigned long long>(fs::file_size(gguf)), relative, 2 * e, same,
      kGreedy);
  EXPECT_LE(relative, 2 * e);
  if (same < theirs.size()) {
    const double margin = top2_margin(want.row(static_cast<int32_t>(prompt.size() + same - 1)));
    EXPECT_LE(margin, 2 * 2 * e * range)
        << "greedy differs at token " << same << " where llama.cpp's choice was clear";
  }
}

}  // namespace
}  // namespace slmkit
