// slmkit validate on stories260K: good artifacts pass every check; corrupted ones fail the check
// named for what is wrong (and the report says by how much).
#include <gtest/gtest.h>

#include <fstream>

#include "formats/gguf.h"
#include "peers/ort_peer.h"
#include "slmkit/error.h"
#include "slmkit/export_onnx.h"
#include "slmkit/quantize.h"
#include "slmkit/validate.h"
#include "support/fixtures.h"
#include "support/ort.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

fs::path stories() {
  return slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf");
}

const ValidationCheck* find_check(const ValidationReport& r, const std::string& name) {
  for (const ValidationCheck& c : r.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string failures(const ValidationReport& r) {
  std::string s;
  for (const ValidationCheck& c : r.checks) {
    if (!c.passed) s += c.name + ": " + c.detail + "\n";
  }
  return s;
}

// Asserts that `name` is present and failed, and that everything before it in the format
// stage passed (so the corruption is caught by the check meant for it, not an earlier one).
void expect_fails_at(const ValidationReport& r, const std::string& name) {
  ASSERT_FALSE(r.passed());
  const ValidationCheck* c = find_check(r, name);
  ASSERT_NE(c, nullptr) << "no check " << name << "; failures:\n" << failures(r);
  EXPECT_FALSE(c->passed) << name << ": " << c->detail;
  EXPECT_EQ(r.first_failure()->name, name) << failures(r);
}

ValidateOptions with_reference() {
  ValidateOptions o;
  o.reference = stories();
  o.n_threads = 1;
  o.n_compare = 16;
  return o;
}

fs::path f16_copy(const fs::path& dir) {
  QuantizeOptions q;
  q.type = "F16";
  const fs::path out = dir / "stories260K-F16.gguf";
  save_model(quantize_model(load_model(stories()), q), out, ModelFormat::gguf);
  return out;
}

void append_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::app) << bytes;
}

TEST(Validate, Stories260KF16GgufPasses) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = slmkit::testing::temp_dir("validate_f16");
  const ValidationReport r = validate_artifact(f16_copy(dir), with_reference());
  EXPECT_TRUE(r.passed()) << failures(r);
  EXPECT_EQ(r.format, "gguf");
  EXPECT_EQ(r.precision, "F16");
  // F16 weights move stories260K's logits by ~4e-4 of their range (measured); 16 greedy tokens
  // are identical.
  const ValidationCheck* logits = find_check(r, "logits.max_abs_diff_rel");
  ASSERT_NE(logits, nullptr);
  EXPECT_GT(*logits->value, 0);
  EXPECT_LT(*logits->value, 2e-3);
  EXPECT_EQ(*logits->bound, 1e-2);
  EXPECT_EQ(*find_check(r, "greedy.leading_tokens_agree")->value, 16);
  EXPECT_EQ(*find_check(r, "logits.top5_overlap")->value, 1.0);

  const fs::path report = write_validation_report(r, dir / "validation_reports");
  EXPECT_EQ(report.filename(), "stories260K-F16_gguf_validation.json");
  const auto j = nlohmann::json::parse(slmkit::testing::read_text(report));
  EXPECT_TRUE(j["passed"].get<bool>());
  EXPECT_EQ(j["checks"].size(), r.checks.size());
  for (const auto& c : j["checks"]) {
    EXPECT_TRUE(c.contains("name") && c.contains("passed") && c.contains("value") &&
                c.contains("bound"));
  }
}

// Quantized GGUFs run in our engine. stories3M: every matrix row is a multiple of 256, so the
// K-quant presets apply as designed. Measured: Q8_0 0.0047 of the logit range, top-5 1.0, 32/32
// greedy; Q4_K_M 0.031, 0.973, 32/32 (llama.cpp: 0.0046 and 0.029).
class ValidateQuantized : public ::testing::TestWithParam<const char*> {};

TEST_P(ValidateQuantized, Stories3MPasses) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path f32 = slmkit::testing::fixture("models/stories3M/stories3M.gguf");
  const fs::path dir = slmkit::testing::temp_dir(std::string("validate_") + GetParam());
  QuantizeOptions q;
  q.type = GetParam();
  const fs::path p = dir / (std::string("stories3M-") + GetParam() + ".gguf");
  save_model(quantize_model(load_model(f32), q), p, ModelFormat::gguf);
  ValidateOptions o = with_reference();
  o.reference = f32;
  const ValidationReport r = validate_artifact(p, o);
  EXPECT_TRUE(r.passed()) << failures(r);
  EXPECT_EQ(r.precision, GetParam());
  const ValidationCheck* logits = find_check(r, "logits.max_abs_diff_rel");
  ASSERT_NE(logits, nullptr);
  // Quantization visibly moves the logits (a file whose weights were silently left in F32
  // would measure ~0).
  EXPECT_GT(*logits->value, 1e-3);
  EXPECT_EQ(*find_check(r, "greedy.leading_tokens_agree")->value, 16);
}

INSTANTIATE_TEST_SUITE_P(Types, ValidateQuantized, ::testing::Values("Q8_0", "Q4_K_M"));

TEST(Validate, TruncatedTensorDataFails) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = slmkit::testing::temp_dir("validate_truncated");
  const fs::path p = dir / "truncated.gguf";
  fs::copy_file(stories(), p);
  fs::resize_file(p, fs::file_size(p) - 1000);  // inside the last tensor
  const ValidationReport r = validate_artifact(p, with_reference());
  expect_fails_at(r, "gguf.tensor_data");
  EXPECT_NE(find_check(r, "gguf.tensor_data")->detail.find("truncated"), std::string::npos);
  EXPECT_EQ(find_check(r, "functional.loads"), nullptr);  // nothing broken is run
}

TEST(Validate, FileCutInsideItsHeaderFailsTheStructure) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = slmkit::testing::temp_dir("validate_header_cut");
  const fs::path p = dir / "cut.gguf";
  fs::copy_file(stories(), p);
  fs::resize_file(p, 4000);  // inside the vocabulary's key-values
  const ValidationReport r = validate_artifact(p);
  expect_fails_at(r, "gguf.structure");
  EXPECT_NE(find_check(r, "gguf.structure")->detail.find("offset"), std::string::npos);
}

TEST(Validate, TrailingGarbageFails) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = slmkit::testing::temp_dir("validate_trailing");
  const fs::path p = dir / "trailing.gguf";
  fs::copy_file(stories(), p);
  append_bytes(p, std::string(100, 'x'));
  ValidateOptions o;
  o.functional = false;
  const ValidationReport r = validate_artifact(p, o);
  expect_fails_at(r, "gguf.trailing_bytes");
  EXPECT_EQ(*find_check(r, "gguf.trailing_bytes")->value, 100);
}

TEST(Validate, VocabularyShorterThanEmbeddingFails) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = slmkit::testing::temp_dir("validate_vocab");
  const gguf::File f = gguf::read_file(stories());
  gguf::Writer w = gguf::writer_from(f);
  // Drop the last token from every per-token array, as a converter with an off-by-one would.
  for (const char* key :
       {"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"}) {
    gguf::Value v = *f.find(key);
    std::get<gguf::Array>(v.v).items.pop_back();
    w.set(key, v);
  }
  const fs::path p = dir / "short_vocab.gguf";
  w.write(p);
  ValidateOptions o;
  o.functional = false;
  const ValidationReport r = validate_artifact(p, o);
  expect_fails_at(r, "gguf.vocab_size");
  EXPECT_EQ(*find_check(r, "gguf.vocab_size")->value, 511);
  EXPECT_EQ(*find_check(r, "gguf.vocab_size")->bound, 512);
}

TEST(Validate, NotAGgufFailsTheMagic) {
  const fs::path dir = slmkit::testing::temp_dir("validate_magic");
  slmkit::testing::write_bytes(dir / "x.gguf", std::vector<std::byte>(64, std::byte{'G'}));
  const ValidationReport r = validate_artifact(dir / "x.gguf");
  expect_fails_at(r, "gguf.magic");
  EXPECT_THROW(validate_artifact(dir / "absent.gguf"), Error);
}

fs::path onnx_export(const std::string& name, OnnxPrecision p, uint64_t external_min = 0) {
  const fs::path dir = slmkit::testing::temp_dir("validate_" + name) / name;
  OnnxExportOptions o;
  o.precisions = {p};
  o.variants = {OnnxVariant::with_past};
  o.external_data_min_bytes = external_min;
  export_onnx(load_model(stories()), dir, o);
  return dir;
}

TEST(Validate, Stories260KOnnxFp32Passes) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ORT();
  const ValidationReport r =
      validate_artifact(onnx_export("onnx_fp32", OnnxPrecision::fp32), with_reference());
  EXPECT_TRUE(r.passed()) << failures(r);
  EXPECT_EQ(r.precision, "fp32");
  for (const char* name :
       {"onnx.checker:model_with_past.onnx", "onnx.shape_inference:model_with_past.onnx",
        "onnx.io:model_with_past.onnx", "onnx.opset:model_with_past.onnx"}) {
    ASSERT_NE(find_check(r, name), nullptr) << name;
  }
  // ONNX Runtime and our engine on the same f32 weights: ~3e-7 of the logit range.
  EXPECT_LT(*find_check(r, "logits.max_abs_diff_rel")->value, 1e-5);
  EXPECT_EQ(*find_check(r, "greedy.leading_tokens_agree")->value, 16);
}

TEST(Validate, Stories260KOnnxInt8Passes) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ORT();
  const ValidationReport r =
      validate_artifact(onnx_export("onnx_int8", OnnxPrecision::int8), with_reference());
  EXPECT_TRUE(r.passed()) << failures(r);
  EXPECT_EQ(r.precision, "int8");
  // Dynamic int8 is visibly lossy (measured 0.038 of the range) but far from broken.
  const double rel = *find_check(r, "logits.max_abs_diff_rel")->value;
  EXPECT_GT(rel, 1e-3);
  EXPECT_LT(rel, 0.1);
}

TEST(Validate, OnnxMissingExternalDataFails) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = onnx_export("onnx_external", OnnxPrecision::fp32, 4096);
  const fs::path data = dir / "onnx/model_with_past.onnx_data";
  ASSERT_TRUE(fs::exists(data));
  fs::remove(data);
  const ValidationReport r = validate_artifact(dir, with_reference());
  expect_fails_at(r, "onnx.external_data:model_with_past.onnx");
  const ValidationCheck* c = find_check(r, "onnx.external_data:model_with_past.onnx");
  EXPECT_GT(*c->value, 10);  // every matrix of the 5 layers
  EXPECT_NE(c->detail.find("model_with_past.onnx_data is missing"), std::string::npos) << c->detail;
}

TEST(Validate, OnnxTruncatedExternalDataFails) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = onnx_export("onnx_external_short", OnnxPrecision::fp32, 4096);
  const fs::path data = dir / "onnx/model_with_past.onnx_data";
  fs::resize_file(data, fs::file_size(data) / 2);
  ValidateOptions o;
  o.functional = false;
  const ValidationReport r = validate_artifact(dir, o);
  expect_fails_at(r, "onnx.external_data:model_with_past.onnx");
  EXPECT_NE(find_check(r, "onnx.external_data:model_with_past.onnx")->detail.find("past the end"),
            std::string::npos);
}

}  // namespace
}  // namespace slmkit

namespace slmkit {
namespace {

TEST(ValidateCli, ExitStatusAndReportFile) {
  SLMKIT_REQUIRE_FIXTURES();
  const std::filesystem::path dir = slmkit::testing::temp_dir("validate_cli");
  const std::string cli = slmkit::testing::cli_path().string();
  std::filesystem::copy_file(stories(), dir / "good.gguf");
  std::string out;
  // No --reference: compared with itself widened to F32, which only shows that it runs.
  EXPECT_EQ(
      slmkit::testing::run_command(
          "cd '" + dir.string() + "' && " + cli + " validate good.gguf -t 1 --n-compare 8", &out),
      0)
      << out;
  EXPECT_NE(out.find("PASS"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(dir / "validation_reports/good_gguf_validation.json"));

  std::filesystem::copy_file(stories(), dir / "bad.gguf");
  std::ofstream(dir / "bad.gguf", std::ios::app) << "garbage";
  EXPECT_EQ(slmkit::testing::run_command(cli + " validate '" + (dir / "bad.gguf").string() +
                                             "' --format-only --json --out '" +
                                             (dir / "reports").string() + "'",
                                         &out),
            1)
      << out;
  const auto j =
      nlohmann::json::parse(slmkit::testing::read_text(dir / "reports/bad_gguf_validation.json"));
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_EQ(j["n_failed"].get<int>(), 1);
  EXPECT_NE(out.find("\"gguf.trailing_bytes\""), std::string::npos);
}

}  // namespace
}  // namespace slmkit

namespace slmkit {
namespace {

// A config.json that disagrees with the graphs (another vocabulary size): the logits output's
// fixed dimension no longer matches, and onnx.io names it.
TEST(Validate, OnnxGraphDisagreeingWithConfigFailsIo) {
  SLMKIT_REQUIRE_FIXTURES();
  const std::filesystem::path dir = onnx_export("onnx_io", OnnxPrecision::fp32);
  auto cfg = nlohmann::json::parse(slmkit::testing::read_text(dir / "config.json"));
  cfg["vocab_size"] = 500;
  std::ofstream(dir / "config.json") << cfg.dump(2);
  ValidateOptions o;
  o.functional = false;
  const ValidationReport r = validate_artifact(dir, o);
  expect_fails_at(r, "onnx.io:model_with_past.onnx");
  const ValidationCheck* c = find_check(r, "onnx.io:model_with_past.onnx");
  EXPECT_EQ(*c->value, 1);
  EXPECT_NE(c->detail.find("output logits: dim 2 is 512, expected 500"), std::string::npos)
      << c->detail;
}

}  // namespace
}  // namespace slmkit
