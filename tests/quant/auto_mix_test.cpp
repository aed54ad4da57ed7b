// quantize -t auto: the knapsack against brute force, and on stories260K (its 64- and 172-wide
// rows force the K-quant fallbacks) the exact budget, the file on disk, determinism, the
// impossible budget and quality at Q4_K_M's size. stories3M (Slow): KLD at Q4_K_M's size.
//
// Calibration: 4 chunks of 128 tokens from the start of tinystories_val_subset.txt; quality is
// measured on the file's last 39,700 bytes (held out from stories3M's training; far past the
// calibration tokens for both models), chunks of 256 as the fixtures' table.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

#include "quant/quant.h"
#include "slmkit/bench.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/imatrix.h"
#include "slmkit/manifest.h"
#include "slmkit/model.h"
#include "slmkit/perplexity.h"
#include "slmkit/quantize.h"
#include "slmkit/quantize_auto.h"
#include "slmkit/synth.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeldOutBytes = 39700;

struct Texts {
  std::string calibration;  // everything but the held-out tail
  std::string held_out;
};

Texts texts() {
  const std::string all = testing::read_text(testing::fixture("text/tinystories_val_subset.txt"));
  return {all.substr(0, all.size() - kHeldOutBytes), all.substr(all.size() - kHeldOutBytes)};
}

AutoSensitivityOptions calibration_options(const Model& model, const std::string& text) {
  const Tokenizer tokenizer(model.vocab);
  AutoSensitivityOptions o;
  o.calibration = tokenizer.encode(text, true);
  o.add_bos = tokenizer.bos_id() >= 0 && o.calibration.front() == tokenizer.bos_id();
  o.bos_id = tokenizer.bos_id();
  o.n_ctx = 128;
  o.n_chunks = 4;
  return o;
}

uint64_t preset_file_bytes(const Model& model, const std::string& preset, const fs::path& path) {
  QuantizeOptions qo;
  qo.type = preset;
  save_model(quantize_model(model, qo), path, ModelFormat::gguf);
  return fs::file_size(path);
}

// Mean KLD of `file` against `base` on the held-out text, by our KL driver.
class HeldOutKl {
 public:
  HeldOutKl(const Model& base, const std::string& text, const fs::path& dir)
      : path_(dir / "base.kl") {
    const Tokenizer tokenizer(base.vocab);
    const std::vector<int32_t> tokens = tokenizer.encode(text, true);
    options_.n_ctx = 256;
    options_.add_bos = tokenizer.bos_id() >= 0 && tokens.front() == tokenizer.bos_id();
    options_.bos_id = tokenizer.bos_id();
    write_kl_base(Engine(Model(base)), tokens, options_, path_);
  }
  double kld(const fs::path& file) const {
    return compute_kl_divergence(Engine(load_model(file)), path_, options_).kld_mean;
  }

 private:
  fs::path path_;
  PerplexityOptions options_;
};

// Three sizes per tensor, KLDs that shrink with size: every combination is tried.
TEST(AutoMixSearch, MatchesBruteForce) {
  AutoSensitivity s;
  s.alignment = 32;
  s.header_bytes = 1000;
  s.header_bytes_plain = 1000;
  s.fixed_bytes = 64;
  const double klds[4][3] = {
      {0.9, 0.3, 0.05}, {0.5, 0.45, 0.01}, {0.2, 0.1, 0.0}, {1.5, 0.2, 0.19}};
  const uint64_t bytes[4][3] = {{96, 160, 320}, {64, 100, 256}, {32, 70, 128}, {200, 260, 400}};
  for (int i = 0; i < 4; ++i) {
    AutoTensor t;
    t.name = "t0";
    t.name[1] = static_cast<char>('0' + i);  // (GCC 12 -Wrestrict misfires on "t" + to_string)
    for (int k = 0; k < 3; ++k) t.candidates.push_back({"q8_0", "q8_0", bytes[i][k], klds[i][k]});
    s.tensors.push_back(t);
  }
  for (uint64_t target = s.min_file_bytes(); target <= s.max_file_bytes() + 64; target += 16) {
    double best = std::numeric_limits<double>::infinity();
    for (int c = 0; c < 81; ++c) {
      uint64_t size = s.header_bytes + s.fixed_bytes;
      double kld = 0;
      for (int i = 0, code = c; i < 4; ++i, code /= 3) {
        size += s.padded(bytes[i][code % 3]);
        kld += klds[i][code % 3];
      }
      if (size <= target) best = std::min(best, kld);
    }
    const AutoMixPlan plan = choose_mix(s, target);
    EXPECT_LE(plan.file_bytes, target);
    EXPECT_NEAR(plan.sum_kld, best, 1e-12) << "target " << target;
  }
}

// The measurement is made once per process, by the tests that need it (each ctest entry is a
// process of its own: the others do not pay for it).
class AutoMix260K : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_fixtures()) return;
    if (!model_) {
      model_ = std::make_unique<Model>(
          load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf")));
      options_ = std::make_unique<AutoSensitivityOptions>(
          calibration_options(*model_, texts().calibration));
    }
  }
  static const AutoSensitivity& measured() {
    if (!sensitivity_)
      sensitivity_ = std::make_unique<AutoSensitivity>(measure_sensitivity(*model_, *options_));
    return *sensitivity_;
  }
  static inline std::unique_ptr<Model> model_;
  static inline std::unique_ptr<AutoSensitivityOptions> options_;
  static inline std::unique_ptr<AutoSensitivity> sensitivity_;
};

// At Q4_K_M's file size: the plan fits, the file on disk has exactly the planned bytes, its
// tensors have the planned types, and it beats Q4_K_M on held-out text.
TEST_F(AutoMix260K, ExactBudgetAndBetterThanQ4KM) {
  SLMKIT_REQUIRE_FIXTURES();
  const AutoSensitivity& sens = measured();
  const fs::path dir = testing::temp_dir("auto_mix_260k");
  const uint64_t target = preset_file_bytes(*model_, "Q4_K_M", dir / "q4km.gguf");
  AutoMixPlan plan = choose_mix(sens, target);
  EXPECT_LE(plan.file_bytes, target);
  plan.measured_kld = measure_mix_kld(*model_, sens, plan, *options_);
  // Per-tensor KLDs add up to first order (small, independent perturbations of the logits);
  // interactions are second order, so the sum and the measurement agree to a fraction of either.
  std::printf("stories260K at %llu bytes: summed per-tensor KLD %.6f, whole mix measured %.6f\n",
              static_cast<unsigned long long>(target), plan.sum_kld, plan.measured_kld);
  EXPECT_GT(plan.measured_kld, 0.5 * plan.sum_kld);
  EXPECT_LT(plan.measured_kld, 2.0 * plan.sum_kld);

  const fs::path out = dir / "auto.gguf";
  QuantizeReport report;
  save_mix(apply_mix(*model_, sens, plan, 0, &report), sens, plan, out);
  EXPECT_EQ(fs::file_size(out), plan.file_bytes);
  ASSERT_TRUE(fs::exists(out.string() + ".mix.json"));
  const Model loaded = load_model(out);
  const auto types = plan.tensor_types(sens);
  for (const auto& [name, type] : types) {
    ASSERT_NE(loaded.find(name), nullptr) << name;
    EXPECT_EQ(dtype_name(loaded.find(name)->dtype()), type) << name;
  }
  // 172-wide ffn_down rows fit no block of 32 or 256: only F16 is possible.
  EXPECT_EQ(types.at("blk.0.ffn_down.weight"), "f16");

  const HeldOutKl held_out(*model_, texts().held_out, dir);
  const double q4km = held_out.kld(dir / "q4km.gguf");
  const double mixed = held_out.kld(out);
  std::printf("stories260K held-out KLD at %llu bytes: Q4_K_M %.6f, auto %.6f\n",
              static_cast<unsigned long long>(target), q4km, mixed);
  EXPECT_LT(mixed, q4km);
}

// Measuring again gives the same KLDs bit for bit, and the same plan gives the same bytes.
TEST_F(AutoMix260K, Deterministic) {
  SLMKIT_REQUIRE_FIXTURES();
  const AutoSensitivity& sens = measured();
  AutoSensitivityOptions o = *options_;
  o.types = {"Q4_K", "Q8_0"};
  const AutoSensitivity again = measure_sensitivity(*model_, o);
  ASSERT_EQ(again.tensors.size(), sens.tensors.size());
  for (size_t i = 0; i < again.tensors.size(); ++i) {
    for (const AutoCandidate& c : again.tensors[i].candidates) {
      bool found = false;
      for (const AutoCandidate& d : sens.tensors[i].candidates) {
        if (d.type != c.type) continue;
        found = true;
        EXPECT_EQ(d.kld, c.kld) << again.tensors[i].name << " " << c.type;
        EXPECT_EQ(d.bytes, c.bytes);
      }
      EXPECT_TRUE(found) << again.tensors[i].name << " " << c.type;
    }
  }
  const uint64_t target = (sens.min_file_bytes() + sens.max_file_bytes()) / 2;
  const AutoMixPlan a = choose_mix(sens, target);
  const AutoMixPlan b = choose_mix(sens, target);
  const fs::path dir = testing::temp_dir("auto_mix_det");
  save_mix(apply_mix(*model_, sens, a, 1), sens, a, dir / "a.gguf");
  save_mix(apply_mix(*model_, sens, b, 0), sens, b, dir / "b.gguf");
  EXPECT_EQ(testing::read_bytes(dir / "a.gguf"), testing::read_bytes(dir / "b.gguf"));
  EXPECT_EQ(testing::read_text(dir / "a.gguf.mix.json"),
            testing::read_text(dir / "b.gguf.mix.json"));
}

TEST_F(AutoMix260K, ImpossibleBudgetNamesTheSmallestSize) {
  SLMKIT_REQUIRE_FIXTURES();
  // Sizes alone decide it: nothing needs measuring.
  const AutoSensitivity sizes = auto_candidates(*model_, default_auto_types());
  const uint64_t smallest = sizes.min_file_bytes();
  EXPECT_EQ(choose_mix(sizes, smallest).file_bytes, smallest);
  try {
    choose_mix(sizes, smallest - 1);
    FAIL() << "a budget below the smallest file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find(std::to_string(smallest)), std::string::npos) << e.what();
  }
}

// The CLI end to end: an impossible budget writes nothing and exits 2; --dry-run writes nothing.
TEST_F(AutoMix260K, CliImpossibleBudgetAndDryRun) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = testing::temp_dir("auto_mix_cli");
  const fs::path calib = dir / "calib.txt";
  {
    std::FILE* f = std::fopen(calib.string().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string text = texts().calibration.substr(0, 20000);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string base = testing::cli_path().string() + " quantize " +
                           testing::fixture("models/gguf-stories260K/stories260K.gguf").string() +
                           " -t auto -f " + calib.string() +
                           " --types Q4_0,Q8_0 --calib-ctx 64 --calib-chunks 2 -o " +
                           (dir / "out.gguf").string();
  std::string output;
  EXPECT_EQ(testing::run_command(base + " --target-size 1000", &output), 2) << output;
  EXPECT_NE(output.find("smallest reachable file"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir / "out.gguf"));
  EXPECT_EQ(testing::run_command(base + " --target-bpw 10 --dry-run", &output), 0) << output;
  EXPECT_NE(output.find("summed KLD"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir / "out.gguf"));
  EXPECT_FALSE(fs::exists(dir / "out.gguf.mix.json"));
}

// stories3M at llama.cpp Q4_K_M's size (2,091,936 bytes, KLD 0.0040 on the held-out text):
// lower KLD on the held-out text than our Q4_K_M file (byte-identical with llama.cpp's).
// With an importance matrix, every candidate is measured as `quantize --imatrix` would write it,
// and the file holds exactly those bytes: each tensor equals its type quantized with the
// imatrix's weights for it, and the weights changed at least one tensor (else the test proves
// nothing). The plan's JSON says it.
TEST_F(AutoMix260K, ImatrixWeighsEveryCandidateAsQuantizeDoes) {
  SLMKIT_REQUIRE_FIXTURES();
  ImatrixOptions io;
  io.n_ctx = 64;
  io.n_chunks = 4;
  io.add_bos = options_->add_bos;
  io.bos_id = options_->bos_id;
  io.n_threads = 1;
  const Engine engine(*model_);
  auto imatrix =
      std::make_shared<const ImportanceMatrix>(collect_imatrix(engine, options_->calibration, io));
  AutoSensitivityOptions o = *options_;
  o.types = {"Q4_0", "Q5_0", "Q8_0"};
  o.n_ctx = 64;
  o.n_chunks = 2;
  o.imatrix = imatrix;
  const AutoSensitivity s = measure_sensitivity(*model_, o);
  const AutoMixPlan plan = choose_mix(s, 300000);
  const Model mixed = apply_mix(*model_, s, plan, 1);
  int changed = 0;
  for (size_t i = 0; i < s.tensors.size(); ++i) {
    const AutoTensor& at = s.tensors[i];
    const Tensor& t = *model_->find(at.name);
    const Tensor& q = *mixed.find(at.name);
    const DType type = *dtype_from_name(at.candidates[plan.choices[i].chosen].type);
    ASSERT_EQ(q.dtype(), type) << at.name;
    const std::vector<float> w = imatrix->weights(at.name);
    const bool weighted = w.size() == static_cast<size_t>(at.shape.back());
    const auto with = quant::quantize_tensor_rows(type, t.dtype(), t.bytes(), at.shape.back(), 1,
                                                  weighted ? w.data() : nullptr, false);
    const std::span<const std::byte> got = q.bytes();
    EXPECT_TRUE(std::equal(got.begin(), got.end(), with.begin(), with.end())) << at.name;
    if (type == t.dtype()) continue;
    const auto plain =
        quant::quantize_tensor_rows(type, t.dtype(), t.bytes(), at.shape.back(), 1, nullptr, false);
    changed += plain != with;
  }
  EXPECT_GT(changed, 0);
  EXPECT_TRUE(plan.to_json(s)["imatrix"].get<bool>());
}

TEST(SlowAutoMix, Stories3MBeatsQ4KMAtItsSize) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model model = load_model(testing::fixture("models/stories3M/stories3M.gguf"));
  const Texts t = texts();
  const AutoSensitivityOptions o = calibration_options(model, t.calibration);
  const AutoSensitivity s = measure_sensitivity(model, o);
  const fs::path dir = testing::temp_dir("auto_mix_3m");
  const uint64_t target = preset_file_bytes(model, "Q4_K_M", dir / "q4km.gguf");
  EXPECT_EQ(target, 2091936u);
  const AutoMixPlan plan = choose_mix(s, target);
  save_mix(apply_mix(model, s, plan, 0), s, plan, dir / "auto.gguf");
  EXPECT_EQ(fs::file_size(dir / "auto.gguf"), plan.file_bytes);
  const HeldOutKl held_out(model, t.held_out, dir);
  const double q4km = held_out.kld(dir / "q4km.gguf");
  const double mixed = held_out.kld(dir / "auto.gguf");
  std::printf("stories3M held-out KLD at %llu bytes: Q4_K_M %.6f, auto %.6f (summed %.6f)\n",
              static_cast<unsigned long long>(target), q4km, mixed, plan.sum_kld);
  EXPECT_LT(mixed, q4km);
}

// stories3M with --min-decode-tps at Q4_K_M's size: the budget is Q4_K_M's own decode time as the
// measured kernel costs predict it, so Q4_K_M is a plan that meets it exactly; the chosen plan
// meets it too and has lower held-out KLD. The budget is not the measured speed of the Q4_K_M file:
// that and the prediction are timed apart, and on a busy 2-core machine their ratio moved by 20-40
// % (CI measured 5,112 t/s for the file and predicted 4,207 t/s for the fastest plan), which made
// the budget unreachable by chance. The two files' measured decode speeds are printed, not
// asserted: speed goals live in the benchmarks (bench/).
TEST(SlowAutoMix, Stories3MMinDecodeTpsOfQ4KM) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model model = load_model(testing::fixture("models/stories3M/stories3M.gguf"));
  const Texts t = texts();
  const fs::path dir = testing::temp_dir("auto_mix_3m_tps");
  const uint64_t target = preset_file_bytes(model, "Q4_K_M", dir / "q4km.gguf");
  BenchOptions bo;
  bo.n_prompt = 0;
  bo.n_gen = 64;
  bo.repetitions = 5;
  auto decode = [&](const fs::path& file, std::vector<double>& samples) {
    for (const BenchRow& r : bench_slmkit(file, bo)) {
      if (r.n_gen > 0) samples.insert(samples.end(), r.samples_ts.begin(), r.samples_ts.end());
    }
  };
  std::vector<double> q4km_ts, auto_ts;
  decode(dir / "q4km.gguf", q4km_ts);

  const AutoSensitivityOptions o = calibration_options(model, t.calibration);
  AutoSensitivity s = measure_sensitivity(model, o);
  KernelCostOptions ko;
  ko.cache_dir = dir / "cache";
  const AutoKernelCosts costs = measure_kernel_costs(s, ko);
  // The cache is this binary's: its build id ends with the binary's digest (a rebuilt kernel
  // measures again), and a second call reads every cell back.
  const std::string digest = sha256_file("/proc/self/exe").substr(0, 12);
  EXPECT_TRUE(costs.build_id.ends_with(digest)) << costs.build_id << " " << digest;
  EXPECT_NE(costs.cache_file.filename().string().find(costs.build_id), std::string::npos);
  EXPECT_GT(costs.measured_cells, 0);
  EXPECT_EQ(measure_kernel_costs(s, ko).measured_cells, 0);
  attach_kernel_costs(s, costs, model);
  // Q4_K_M's own types as the same costs predict them.
  const std::optional<AutoMixPlan> q4km_plan = plan_of_types(s, load_model(dir / "q4km.gguf"));
  ASSERT_TRUE(q4km_plan.has_value());
  const double q4km_predicted = q4km_plan->decode_seconds;
  // 1e-9 relative: the plan's time is summed in another order than Q4_K_M's.
  const double budget = q4km_predicted * (1 + 1e-9);
  const AutoMixPlan plan = choose_mix(s, target, budget);
  EXPECT_LE(plan.decode_seconds, budget);
  save_mix(apply_mix(model, s, plan, 0), s, plan, dir / "auto.gguf");

  decode(dir / "auto.gguf", auto_ts);
  auto mean_sd = [](const std::vector<double>& v) {
    double m = 0, ss = 0;
    for (double x : v) m += x / static_cast<double>(v.size());
    for (double x : v) ss += (x - m) * (x - m);
    return std::pair{m, std::sqrt(ss / static_cast<double>(v.size() - 1))};
  };
  const auto [q_mean, q_sd] = mean_sd(q4km_ts);
  const auto [a_mean, a_sd] = mean_sd(auto_ts);
  const HeldOutKl held_out(model, t.held_out, dir);
  const double q4km_kld = held_out.kld(dir / "q4km.gguf");
  const double auto_kld = held_out.kld(dir / "auto.gguf");
  std::printf(
      "stories3M at %llu bytes, budget %.1f t/s (predicted: auto %.1f, Q4_K_M %.1f): decode "
      "Q4_K_M %.1f +/- "
      "%.1f, auto %.1f +/- %.1f t/s (measured, not asserted); held-out KLD Q4_K_M %.6f, auto "
      "%.6f\n",
      static_cast<unsigned long long>(target), 1.0 / budget, 1.0 / plan.decode_seconds,
      1.0 / q4km_predicted, q_mean, q_sd, a_mean, a_sd, q4km_kld, auto_kld);
  EXPECT_LT(auto_kld, q4km_kld);
}

// --as-fast-as: the budget is a reference file's decode step, timed in turns with each plan's at
// the same moment. The reference is any GGUF; here a synthetic distilgpt2 in F16 (156 MiB, about
// 75x the mix's bytes), so that no burst of a busy machine can make the mix the slower one
// (stories3M's own F32 was measured only 1.10x to 1.44x slower than the mix: too close for a
// test). A plan meets it (here the first), the reference's time is recorded beside the plan's,
// and the plan is no slower than the reference when timed in turns. Both budgets at once, and a
// reference that is not a model, are refused before anything is measured.
TEST(SlowAutoMix, AsFastAsAReferenceTimedInTurns) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model model = load_model(testing::fixture("models/stories3M/stories3M.gguf"));
  const fs::path dir = testing::temp_dir("auto_mix_reference");
  const uint64_t target = preset_file_bytes(model, "Q4_K_M", dir / "q4km.gguf");
  SynthOptions so;
  so.arch = "gpt2";
  so.shape = "distilgpt2";
  so.dtype = DType::F16;
  save_model(synthesize_model(so), dir / "reference.gguf", ModelFormat::gguf);
  QuantizeAutoOptions o;
  o.calibration_text = texts().calibration;
  o.target_size = target;
  o.as_fast_as = dir / "reference.gguf";
  o.n_threads = 1;
  o.dry_run = true;
  o.costs.cache_dir = dir / "cache";
  const QuantizeAutoResult r = quantize_auto(model, o, dir / "auto.gguf");
  std::printf("mix %.1f t/s, reference %.1f t/s at the same moment (search %d)\n",
              1.0 / r.plan.measured_decode_seconds, 1.0 / r.plan.reference_decode_seconds,
              r.plan.speed_rounds);
  // A burst on a busy machine can make the first timing miss; the search then runs again.
  EXPECT_GE(r.plan.speed_rounds, 1);
  EXPECT_GT(r.plan.reference_decode_seconds, 0);
  EXPECT_TRUE(r.plan.measured_within_budget());
  EXPECT_LE(r.plan.measured_decode_seconds, r.plan.reference_decode_seconds);
  EXPECT_LE(r.plan.file_bytes, target);
  EXPECT_FALSE(fs::exists(dir / "auto.gguf"));
  EXPECT_LT(r.plan.reference_sum_kld, 0);  // distilgpt2's types are not a plan of stories3M

  // The Q4_K_M preset of the same model is a plan of the candidates: held to its bytes and its
  // predicted time, the search finds a plan predicted no slower with a smaller summed KLD, as the
  // issue's target asks. How much smaller depends on this CPU's kernel costs (0.73x on an AVX-512
  // VNNI Zen 5), so the bound is the target's, not that margin.
  const std::optional<AutoMixPlan> q4km =
      plan_of_types(r.sensitivity, load_model(dir / "q4km.gguf"));
  ASSERT_TRUE(q4km.has_value());
  EXPECT_EQ(q4km->file_bytes, target);
  const AutoMixPlan held = choose_mix_against(r.sensitivity, target, *q4km);
  std::printf("against Q4_K_M as a plan: summed KLD %.6f vs %.6f, predicted %.1f vs %.1f t/s\n",
              held.sum_kld, q4km->sum_kld, 1.0 / held.decode_seconds, 1.0 / q4km->decode_seconds);
  EXPECT_LE(held.file_bytes, target);
  EXPECT_LE(held.decode_seconds, q4km->decode_seconds);
  EXPECT_LT(held.sum_kld, q4km->sum_kld);

  o.min_decode_tps = 100;
  EXPECT_THROW(quantize_auto(model, o, dir / "auto.gguf"), Error);
  o.min_decode_tps = 0;
  o.as_fast_as = dir / "missing.gguf";
  EXPECT_THROW(quantize_auto(model, o, dir / "auto.gguf"), Error);
}

}  // namespace
}  // namespace slmkit
