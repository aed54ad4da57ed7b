// Where validation's per-precision bounds for quantized GGUF types come from (and a guard that
// they still hold): llama.cpp runs stories3M (fixtures) in each type against its F32 GGUF, and
// validation's own metrics (logit max |diff| / range, top-5 overlap, leading greedy tokens) are
// held to the table in src/validate/bounds.cpp. Our quantizer is bit-exact with llama.cpp's
// (quant_bitexact_test), so this measures the type, not one implementation of it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "peers/llama_cpp_peer.h"
#include "slmkit/quantize.h"
#include "support/fixtures.h"
#include "validate/checks.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

struct Measured {
  validation::LogitStats stats;
  int64_t same_greedy = 0;
};

Measured measure(const fs::path& reference, const fs::path& artifact, const std::string& prompt,
                 int32_t n) {
  peers::LlamaCppContextOptions co;
  co.n_ctx = 128;
  co.n_threads = 1;
  co.kv_cache_f32 = true;
  peers::LlamaCppModel ref = peers::LlamaCppModel::load(reference);
  peers::LlamaCppModel art = peers::LlamaCppModel::load(artifact);
  peers::LlamaCppContext rc(ref, co), ac(art, co);
  const auto tokens = ref.tokenize(prompt, true, false);
  const auto ref_greedy = rc.generate_greedy(tokens, n);
  const auto art_greedy = ac.generate_greedy(tokens, n);
  std::vector<peers::LlamaToken> all = tokens;
  all.insert(all.end(), ref_greedy.begin(), ref_greedy.end());
  Measured m;
  m.stats = validation::compare_logits(rc.logits(all).values, ac.logits(all).values, ref.n_vocab());
  m.same_greedy = validation::leading_matches(ref_greedy, art_greedy);
  return m;
}

TEST(ValidateBounds, QuantizedGgufTypesInLlamaCppStayInsideTheTable) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::LlamaCppPeer::available())
    GTEST_SKIP() << "llama.cpp peer not available: " << peers::LlamaCppPeer::unavailable_reason();
  const fs::path dir = slmkit::testing::temp_dir("validate_bounds");
  const int32_t n = 32;
  // stories260K's 64-wide rows take K-quants' fallback types, and its small width makes it the
  // most sensitive model we have; stories3M's rows are multiples of 256.
  for (const char* name : {"stories260K", "stories3M"}) {
    const fs::path f32 = slmkit::testing::fixture(name == std::string("stories3M")
                                                      ? "models/stories3M/stories3M.gguf"
                                                      : "models/gguf-stories260K/stories260K.gguf");
    const Model model = load_model(f32);
    for (const char* type : {"Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K"}) {
      QuantizeOptions q;
      q.type = type;
      const fs::path out = dir / (std::string(name) + "-" + type + ".gguf");
      save_model(quantize_model(model, q), out, ModelFormat::gguf);
      const Measured m = measure(f32, out, "Once upon a time", n);
      const validation::PrecisionBounds b = validation::bounds_for(type);
      const double rel = m.stats.max_abs_diff / m.stats.reference_range;
      std::printf(
          "%-11s %-7s vs F32 in llama.cpp: max |diff| / range %.4f (bound %.3g), top-5 "
          "overlap %.4f (>= %.2f), greedy %lld/%d (>= %.0f)\n",
          name, type, rel, b.logits_rel, m.stats.top5_overlap, b.top5_overlap,
          static_cast<long long>(m.same_greedy), n, std::ceil(b.greedy_share * n));
      EXPECT_EQ(b.precision, type);  // a row of its own, not the fallback
      EXPECT_LE(rel, b.logits_rel) << name << " " << type;
      EXPECT_GE(m.stats.top5_overlap, b.top5_overlap) << name << " " << type;
      EXPECT_GE(static_cast<double>(m.same_greedy), std::ceil(b.greedy_share * n))
          << name << " " << type;
    }
  }
}

}  // namespace
}  // namespace slmkit
