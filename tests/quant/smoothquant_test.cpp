// SmoothQuant and the outlier test models (issue 17): both are exact rescalings of the model's
// function, so FP32 logits must not move beyond f32 rounding; smoothing the outlier model must
// bring its quantized KL divergence back near the plain model's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/perplexity.h"
#include "slmkit/quantize.h"
#include "slmkit/smoothquant.h"
#include "slmkit/synth.h"
#include "slmkit/tokenizer.h"
#include "support/engine_logits.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeldOutBytes = 39700;  // fixtures README: held out from stories3M's training

// Logits of every position of `tokens`, F32 KV cache (no f16 rounding of K and V in between).
std::vector<int32_t> sample_tokens(int64_t vocab, size_t n) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((1 + 7 * i + (i * i) % 13) % vocab);
  return t;
}

float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Rescaling w*s and W/s with s not a power of two rounds each rescaled weight once (relative
// 2^-24) and the norm weight once more; through a dot product of n_embd terms that perturbs a
// matrix's output by at most 2 * 2^-24 of sum |w x| (the products' magnitudes). Over 2 rescaled
// norms per layer and the attention and FFN above them, these relative perturbations add up to
// some 2 * 2^-24 * 2 * n_layer times a cancellation factor (sum |w x| / |sum w x|, ~10-100 in
// these small models). 1e-5 of the logits' range is 2^-24 * 2 * 2 * 5 layers * ~8: the actual
// differences below are printed and sit well inside it.
constexpr float kRescaleTolerance = 1e-5f;

TEST(SmoothQuant, OutlierModelWithPowerOfTwoFactorIsBitIdentical) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model plain = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  Model outlier = plain;
  const std::vector<int64_t> channels = add_outlier_channels(outlier, 4, 64.0f);
  EXPECT_EQ(channels, (std::vector<int64_t>{17, 54, 27, 0}));
  // The norm weight of an outlier channel is 64 times the plain one, the readers' column 1/64.
  const std::vector<float> w0 = plain.get("blk.2.ffn_norm.weight").to_f32();
  const std::vector<float> w1 = outlier.get("blk.2.ffn_norm.weight").to_f32();
  EXPECT_EQ(w1[17], w0[17] * 64.0f);
  EXPECT_EQ(w1[18], w0[18]);
  const std::vector<float> u0 = plain.get("blk.2.ffn_up.weight").to_f32();
  const std::vector<float> u1 = outlier.get("blk.2.ffn_up.weight").to_f32();
  EXPECT_EQ(u1[64 * 3 + 54], u0[64 * 3 + 54] / 64.0f);
  EXPECT_EQ(u1[64 * 3 + 55], u0[64 * 3 + 55]);
  // Tensor order is kept (llama.cpp's presets count layers in file order).
  for (size_t i = 0; i < plain.tensors().size(); ++i) {
    EXPECT_EQ(plain.tensors()[i].name(), outlier.tensors()[i].name());
  }
  // Scaling by a power of two commutes with every f32 rounding (no overflow or subnormals here):
  // (W / 64) * (64 y) is W * y to the bit, so every logit is identical.
  const std::vector<int32_t> tokens = sample_tokens(plain.config.vocab_size, 48);
  EXPECT_EQ(testing::engine_all_logits(plain, tokens), testing::engine_all_logits(outlier, tokens));
}

TEST(SmoothQuant, OutlierAndSmoothedModelsKeepFp32Logits) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model plain = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  Model outlier = plain;
  add_outlier_channels(outlier, 4, 50.0f);
  const std::vector<int32_t> tokens = sample_tokens(plain.config.vocab_size, 48);
  const std::vector<float> base = testing::engine_all_logits(plain, tokens);
  const float range = max_abs(base);
  const float d_outlier = max_abs_diff(base, testing::engine_all_logits(outlier, tokens));
  EXPECT_LE(d_outlier, kRescaleTolerance * range);

  const std::string text = testing::read_text(testing::fixture("text/tinystories_val_subset.txt"));
  const Tokenizer tokenizer(outlier.vocab);
  ActivationRangeOptions ro;
  ro.n_chunks = 4;
  ro.bos_id = tokenizer.bos_id();
  ro.n_threads = 1;
  const ActivationRanges ranges =
      collect_activation_ranges(Engine(outlier), tokenizer.encode(text.substr(0, 20000), true), ro);
  EXPECT_EQ(ranges.n_chunks, 4);
  EXPECT_EQ(ranges.n_tokens, 4 * 128);
  // Every matrix of every layer was seen (q, k, v, output, gate, up, down) and the untied head.
  EXPECT_EQ(ranges.max_abs.size(), static_cast<size_t>(7 * plain.config.n_layer + 1));
  EXPECT_TRUE(ranges.max_abs.contains("output.weight"));
  // The outlier channel is about 50 times the largest of the others.
  const std::vector<float>& x = ranges.max_abs.at("blk.1.attn_q.weight");
  float others = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    if (j != 17 && j != 54 && j != 27 && j != 0) others = std::max(others, x[j]);
  }
  EXPECT_GT(x[17], 5.0f * others);

  for (double alpha : {0.5, 0.8}) {
    SmoothQuantReport report;
    const Model smoothed = smooth_model(outlier, ranges, {.alpha = alpha}, &report);
    ASSERT_EQ(report.groups.size(), static_cast<size_t>(2 * plain.config.n_layer));
    EXPECT_EQ(report.groups[0].norm, "blk.0.attn_norm");
    EXPECT_EQ(report.groups[0].readers,
              (std::vector<std::string>{"blk.0.attn_q.weight", "blk.0.attn_k.weight",
                                        "blk.0.attn_v.weight"}));
    EXPECT_EQ(report.groups[1].readers,
              (std::vector<std::string>{"blk.0.ffn_gate.weight", "blk.0.ffn_up.weight"}));
    EXPECT_EQ(report.skipped.size(), static_cast<size_t>(2 * plain.config.n_layer));
    for (const SmoothedGroup& g : report.groups) {
      EXPECT_LT(g.x_ratio_after, g.x_ratio_before) << g.norm;
    }
    const float d = max_abs_diff(base, testing::engine_all_logits(smoothed, tokens));
    EXPECT_LE(d, kRescaleTolerance * range) << "alpha " << alpha;
    std::printf("max |logit diff| / range: outlier %.2g, smoothed at %.1f %.2g\n",
                d_outlier / range, alpha, d / range);
  }
}

// The fold through LayerNorm's bias (GPT-2, fused qkv, plain FFN) and through Gemma's (1 + w)
// norm weights: random per-channel scales leave the logits where they were.
TEST(SmoothQuant, RescaleIsExactForLayerNormBiasAndNormOffset) {
  for (const char* arch : {"gpt2", "gemma3"}) {
    SynthOptions so;
    so.arch = arch;
    so.seed = 7;
    Model model = synthesize_model(so);
    if (std::string(arch) == "gemma3") model.config.norm_weight_offset = 1.0f;
    Model rescaled = model;
    std::vector<float> s(static_cast<size_t>(model.config.n_embd));
    for (size_t j = 0; j < s.size(); ++j) s[j] = 0.3f + 0.37f * static_cast<float>(j % 11);
    for (int64_t l = 0; l < model.config.n_layer; ++l) {
      for (const char* kind : {"attn_norm", "ffn_norm"}) {
        const std::string norm = "blk." + std::to_string(l) + "." + kind;
        ASSERT_FALSE(norm_readers(model, norm).empty()) << arch << " " << norm;
        rescale_norm_channels(rescaled, norm, s);
      }
    }
    if (std::string(arch) == "gpt2") {
      EXPECT_EQ(norm_readers(model, "blk.0.attn_norm"),
                std::vector<std::string>{"blk.0.attn_qkv.weight"});
      EXPECT_EQ(rescaled.get("blk.0.attn_norm.bias").to_f32()[1],
                model.get("blk.0.attn_norm.bias").to_f32()[1] / s[1]);
    }
    const std::vector<int32_t> tokens = sample_tokens(model.config.vocab_size, 24);
    const std::vector<float> base = testing::engine_all_logits(model, tokens);
    EXPECT_LE(max_abs_diff(base, testing::engine_all_logits(rescaled, tokens)),
              kRescaleTolerance * max_abs(base))
        << arch;
  }
}

struct Kld {
  double q8_0 = 0, q4_k_m = 0;
};

// Mean KLD of the model's Q8_0 and Q4_K_M against the plain model's F32 base, our engine.
Kld kld_of(const Model& model, const fs::path& base, const PerplexityOptions& po) {
  Kld out;
  for (const char* type : {"Q8_0", "Q4_K_M"}) {
    QuantizeOptions qo;
    qo.type = type;
    qo.n_threads = 1;
    const Engine engine(quantize_model(model, qo));
    const double kld = compute_kl_divergence(engine, base, po).kld_mean;
    (std::string(type) == "Q8_0" ? out.q8_0 : out.q4_k_m) = kld;
  }
  return out;
}

// Issue 17's targets on stories260K, measured by our engine (llama.cpp's numbers for the same
// files are in docs/quantization.md): the outlier model's quantized KLD is far above the plain
// model's; smoothed at 0.5 it is back within 2x of it. On the plain model, smoothing moves the
// KLD by no more than the noise: two standard deviations of the change that meaningless
// rescalings of the plain model cause (exact rescalings by random per-channel factors in
// [0.8, 1.25], no outliers: only which values the quantizer's rounding hits moves), estimated
// as the root mean square of four such changes.
void check_kld_targets(const char* fixture_path, int64_t n_chunks) {
  const Model plain = load_model(testing::fixture(fixture_path));
  const std::string text = testing::read_text(testing::fixture("text/tinystories_val_subset.txt"));
  const Tokenizer tokenizer(plain.vocab);
  const std::vector<int32_t> held =
      tokenizer.encode(text.substr(text.size() - kHeldOutBytes), true);
  const std::vector<int32_t> calib =
      tokenizer.encode(text.substr(0, text.size() - kHeldOutBytes), true);
  PerplexityOptions po;
  po.n_ctx = 256;
  po.n_chunks = n_chunks;
  po.bos_id = tokenizer.bos_id();
  po.n_threads = 1;
  const fs::path base = testing::temp_dir("smoothquant") / "f32.kl";
  write_kl_base(Engine(plain), held, po, base);

  auto smoothed = [&](const Model& m, double alpha) {
    ActivationRangeOptions ro;
    ro.n_chunks = 16;  // of 128 tokens
    ro.bos_id = tokenizer.bos_id();
    ro.n_threads = 1;
    return smooth_model(m, collect_activation_ranges(Engine(m), calib, ro), {.alpha = alpha});
  };
  Model outlier = plain;
  add_outlier_channels(outlier, 4, 50.0f);

  const Kld k_plain = kld_of(plain, base, po);
  const Kld k_outlier = kld_of(outlier, base, po);
  const Kld k_sq = kld_of(smoothed(outlier, 0.5), base, po);
  const Kld k_plain_sq = kld_of(smoothed(plain, 0.5), base, po);
  Kld noise;
  constexpr int kJitters = 4;
  for (uint32_t seed = 1; seed <= kJitters; ++seed) {
    Model jittered = plain;
    std::vector<float> s(static_cast<size_t>(plain.config.n_embd));
    uint32_t x = seed * 2654435761u;
    for (float& v : s) {
      x = x * 1664525u + 1013904223u;
      v = std::pow(1.25f, 2.0f * static_cast<float>(x >> 8) / 16777216.0f - 1.0f);
    }
    for (int64_t l = 0; l < plain.config.n_layer; ++l) {
      for (const char* kind : {"attn_norm", "ffn_norm"}) {
        rescale_norm_channels(jittered, "blk." + std::to_string(l) + "." + kind, s);
      }
    }
    const Kld k = kld_of(jittered, base, po);
    noise.q8_0 += (k.q8_0 - k_plain.q8_0) * (k.q8_0 - k_plain.q8_0) / kJitters;
    noise.q4_k_m += (k.q4_k_m - k_plain.q4_k_m) * (k.q4_k_m - k_plain.q4_k_m) / kJitters;
  }
  noise.q8_0 = 2 * std::sqrt(noise.q8_0);
  noise.q4_k_m = 2 * std::sqrt(noise.q4_k_m);
  std::printf(
      "%s: mean KLD Q8_0 / Q4_K_M: plain %.6f / %.6f, outlier %.6f / %.6f, outlier+SQ0.5 %.6f / "
      "%.6f, plain+SQ0.5 %.6f / %.6f, noise %.6f / %.6f\n",
      fixture_path, k_plain.q8_0, k_plain.q4_k_m, k_outlier.q8_0, k_outlier.q4_k_m, k_sq.q8_0,
      k_sq.q4_k_m, k_plain_sq.q8_0, k_plain_sq.q4_k_m, noise.q8_0, noise.q4_k_m);
  // The test model has the problem (issue 17 measured 36x and 26x on stories3M)...
  EXPECT_GT(k_outlier.q8_0, 10 * k_plain.q8_0);
  EXPECT_GT(k_outlier.q4_k_m, 10 * k_plain.q4_k_m);
  // ... SmoothQuant solves it ...
  EXPECT_LE(k_sq.q8_0, 2 * k_plain.q8_0);
  EXPECT_LE(k_sq.q4_k_m, 2 * k_plain.q4_k_m);
  // ... and costs nothing beyond the noise where there was no problem.
  EXPECT_LE(k_plain_sq.q8_0, k_plain.q8_0 + noise.q8_0);
  EXPECT_LE(k_plain_sq.q4_k_m, k_plain.q4_k_m + noise.q4_k_m);
}

TEST(SmoothQuant, BringsOutlierModelKldBackNearPlain) {
  SLMKIT_REQUIRE_FIXTURES();
  // 8 chunks of 256 held-out tokens (1,016 scored): seconds, also under the sanitizers.
  check_kld_targets("models/gguf-stories260K/stories260K.gguf", 8);
}

// The same on stories3M (all K-quants apply to every matrix there); some 20 s, so Slow.
TEST(SmoothQuant, SlowBringsOutlierStories3MKldBackNearPlain) {
  SLMKIT_REQUIRE_FIXTURES();
  check_kld_targets("models/stories3M/stories3M.gguf", 16);
}

// alpha auto on stories260K with 4 outlier channels x50: each norm gets the alpha with the
// smallest W8A8 output error of the 11 tried, the error it reports is that minimum, and it is
// clearly below no smoothing's (alpha 0): measured, alphas 0.7-1 chosen, their error 0.17-0.64 of
// alpha 0's (bound 0.8: the outliers' share of the activation range is what it removes). Every
// group's search is in the report's JSON. The FP32 function stays as it was.
TEST(SmoothQuant, AutoAlphaTakesTheSmallestW8A8Error) {
  SLMKIT_REQUIRE_FIXTURES();
  Model outlier = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  add_outlier_channels(outlier, 4, 50.0f);
  const std::string text =
      testing::read_text(testing::fixture("text/tinystories_val_subset.txt")).substr(0, 20000);
  SmoothQuantCalibration calibration;
  calibration.n_chunks = 4;
  calibration.n_threads = 1;
  const SmoothQuantResult r =
      smooth_with_calibration(outlier, text, parse_smoothquant("auto"), calibration);
  EXPECT_EQ(r.alpha, "auto");
  ASSERT_EQ(r.report.groups.size(), 10u);
  for (const SmoothedGroup& g : r.report.groups) {
    ASSERT_EQ(g.alpha_errors.size(), 11u) << g.norm;
    double best = INFINITY;
    for (const auto& [alpha, error] : g.alpha_errors) best = std::min(best, error);
    const auto chosen = std::find_if(g.alpha_errors.begin(), g.alpha_errors.end(),
                                     [&](const auto& e) { return e.first == g.alpha; });
    ASSERT_NE(chosen, g.alpha_errors.end()) << g.norm;
    EXPECT_EQ(chosen->second, best) << g.norm;
    EXPECT_LT(best, 0.8 * g.alpha_errors.front().second) << g.norm << " alpha " << g.alpha;
    std::printf("%s alpha %.1f: error %.3g (alpha 0: %.3g, 0.5: %.3g)\n", g.norm.c_str(), g.alpha,
                best, g.alpha_errors[0].second, g.alpha_errors[5].second);
  }
  EXPECT_EQ(r.report.to_json()["groups"][0]["alpha_search"].size(), 11u);
  const std::vector<int32_t> tokens = sample_tokens(outlier.config.vocab_size, 24);
  const std::vector<float> before = testing::engine_all_logits(outlier, tokens);
  EXPECT_LT(max_abs_diff(before, testing::engine_all_logits(r.model, tokens)),
            kRescaleTolerance * max_abs(before));
  EXPECT_THROW(parse_smoothquant("1.5"), Error);
  EXPECT_THROW(parse_smoothquant("half"), Error);
  EXPECT_EQ(parse_smoothquant("0.8").alpha, 0.8);
}

TEST(SmoothQuant, RefusesWhatItCannotFold) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model plain = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  EXPECT_THROW(smooth_model(plain, {}, {.alpha = 1.5}), Error);
  try {
    smooth_model(plain, {}, {.alpha = 0.5});
    FAIL() << "no ranges accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
  QuantizeOptions qo;
  qo.type = "Q8_0";
  const Model q8 = quantize_model(plain, qo);
  ActivationRanges ranges;
  ranges.max_abs["blk.0.attn_q.weight"].assign(64, 1.0f);
  try {
    smooth_model(q8, ranges, {.alpha = 0.5});
    FAIL() << "quantized input accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smooth before quantizing"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace slmkit
