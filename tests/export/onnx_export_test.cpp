// The ONNX folder layout, the checker on every variant and precision, and clear errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "slmkit/error.h"
#include "slmkit/export_onnx.h"
#include "slmkit/synth.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

TEST(OnnxExport, FolderHasOptimumLayoutAndNoLeftovers) {
  SynthOptions so;
  so.arch = "llama";
  const Model model = synthesize_model(so);
  const fs::path root = slmkit::testing::temp_dir("onnx_folder");
  const fs::path dir = root / "out";
  OnnxExportOptions o;
  o.variants = {OnnxVariant::plain, OnnxVariant::decode};
  o.precisions = {OnnxPrecision::fp32, OnnxPrecision::fp16};
  o.max_length = 16;
  const OnnxExportResult r = export_onnx(model, dir, o);
  // The four graphs first, then the folder's other files by name.
  ASSERT_GE(r.files.size(), 4u + 4u);
  EXPECT_EQ(r.files[4].path, fs::path("config.json"));
  EXPECT_EQ(r.files[5].path, fs::path("generation_config.json"));
  // transformers.js / optimum names: no-cache graph "decoder_model", with_past "model".
  EXPECT_EQ(r.files[0].path, fs::path("onnx/decoder_model.onnx"));
  EXPECT_EQ(r.files[3].path, fs::path("onnx/decode_fp16.onnx"));
  for (const OnnxExportedFile& f : r.files) {
    EXPECT_EQ(fs::file_size(dir / f.path), f.bytes);
  }
  // fp16 weights: the fp16 graph is about half the fp32 one (embedding 32000 x 64 dominates).
  EXPECT_LT(r.files[2].bytes, r.files[0].bytes * 6 / 10);
  EXPECT_TRUE(fs::exists(dir / "config.json"));
  const auto gen =
      nlohmann::json::parse(slmkit::testing::read_text(dir / "generation_config.json"));
  EXPECT_EQ(gen["max_length"], model.config.context_length);
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  // No with_past graph, no fp32 one among the main graphs: transformers.js must be told both.
  const auto cfg = nlohmann::json::parse(slmkit::testing::read_text(dir / "config.json"));
  EXPECT_EQ(cfg["use_cache"], false);
  EXPECT_EQ(cfg["transformers.js_config"]["kv_cache_dtype"]["fp16"], "float16");
  EXPECT_FALSE(cfg["transformers.js_config"].contains("dtype"));  // fp32 is there
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "out");
  }
  EXPECT_EQ(entries, 1u);
}

TEST(OnnxExport, EveryFamilyPassesCheckerInFp16AndQ4f16) {
  for (const char* arch : {"gpt2", "llama", "gemma3", "qwen2"}) {
    SynthOptions so;
    so.arch = arch;
    const Model model = synthesize_model(so);
    const fs::path dir = slmkit::testing::temp_dir(std::string("onnx_fp16_") + arch);
    for (OnnxVariant v : {OnnxVariant::with_past, OnnxVariant::prefill}) {
      OnnxGraphOptions go;
      go.variant = v;
      go.precision = v == OnnxVariant::prefill ? OnnxPrecision::q4f16 : OnnxPrecision::fp16;
      go.max_length = 8;
      EXPECT_NO_THROW(write_onnx_graph(model, go, dir / "m.onnx")) << arch;
    }
  }
}

// w8a8 has no transformers.js dtype (it is loaded by file name), so a folder without fp32 names
// the first precision transformers.js knows as its default, and none when w8a8 is alone; a matrix
// without a calibration range is refused, naming it.
TEST(OnnxExport, W8A8FolderDefaultsToADtypeTransformersJsKnows) {
  SynthOptions so;
  so.arch = "llama";
  const Model model = synthesize_model(so);
  const fs::path root = slmkit::testing::temp_dir("onnx_w8a8_dtype");
  OnnxExportOptions o;
  o.variants = {OnnxVariant::plain};
  for (const Tensor& t : model.tensors()) o.w8a8_input_max[t.name()] = 1.0f;
  auto dtype_of = [&](const std::vector<OnnxPrecision>& precisions, const std::string& name) {
    o.precisions = precisions;
    export_onnx(model, root / name, o);
    const auto cfg = nlohmann::json::parse(slmkit::testing::read_text(root / name / "config.json"));
    const auto js = cfg.value("transformers.js_config", nlohmann::json::object());
    return js.value("dtype", std::string("(none)"));
  };
  EXPECT_EQ(dtype_of({OnnxPrecision::w8a8, OnnxPrecision::int8}, "a"), "int8");
  EXPECT_EQ(dtype_of({OnnxPrecision::w8a8}, "b"), "(none)");
  EXPECT_TRUE(fs::exists(root / "b/onnx/decoder_model_w8a8.onnx"));
  o.w8a8_input_max.erase("blk.0.ffn_down.weight");
  try {
    dtype_of({OnnxPrecision::w8a8}, "c");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_down.weight"), std::string::npos) << e.what();
  }
}

TEST(OnnxExport, UnsupportedOptionsNameWhatIsSupported) {
  try {
    parse_onnx_precision("int3");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
    EXPECT_NE(std::string(e.what()).find("fp32, fp16"), std::string::npos) << e.what();
  }
  try {
    SynthOptions so;
    so.arch = "llama";
    OnnxGraphOptions go;
    go.precision = OnnxPrecision::q4;
    go.q4_block_size = 48;
    write_onnx_graph(synthesize_model(so), go,
                     slmkit::testing::temp_dir("onnx_bad_block") / "m.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
    EXPECT_NE(std::string(e.what()).find("32, 64, 128"), std::string::npos) << e.what();
  }
  try {
    parse_onnx_variant("merged");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("plain, with_past, prefill, decode"), std::string::npos);
  }
}

TEST(OnnxExport, CliWritesFolderAndPrintsSizes) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path dir = slmkit::testing::temp_dir("onnx_cli") / "stories";
  std::string out;
  const int rc = slmkit::testing::run_command(
      slmkit::testing::cli_path().string() + " export onnx " +
          slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf").string() + " -o " +
          dir.string() + " --variant plain,with_past",
      &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("onnx/model.onnx"), std::string::npos) << out;
  EXPECT_NE(out.find("onnx/decoder_model.onnx"), std::string::npos) << out;
  EXPECT_NE(out.find("tokenizer.json"), std::string::npos) << out;
  EXPECT_NE(out.find("(2 graphs, "), std::string::npos) << out;
  EXPECT_NE(out.find("opset 17, IR 8"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "onnx/model.onnx"));
  const auto cfg = nlohmann::json::parse(slmkit::testing::read_text(dir / "config.json"));
  EXPECT_EQ(cfg["use_cache"], true);
  EXPECT_FALSE(cfg.contains("transformers.js_config"));  // fp32, inline weights: nothing to say
  // The GGUF had no tokenizer.json: the one written from its vocabulary encodes as it does.
  const Tokenizer gguf =
      Tokenizer::from_path(slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  const Tokenizer written = Tokenizer::from_path(dir / "tokenizer.json");
  const std::string text = "Once upon a time, Lily saw a big red ball.\nShe said: \"Hi!\"";
  EXPECT_EQ(written.encode(text), gguf.encode(text));
  EXPECT_TRUE(fs::exists(dir / "tokenizer_config.json"));
  const int bad = slmkit::testing::run_command(
      slmkit::testing::cli_path().string() + " export onnx " +
          slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf").string() + " -o " +
          dir.string() + "2 --precision int4",
      &out);
  EXPECT_EQ(bad, 2) << out;
  EXPECT_NE(out.find("supported: fp32, fp16"), std::string::npos) << out;
  const int bad_embd = slmkit::testing::run_command(
      slmkit::testing::cli_path().string() + " export onnx " +
          slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf").string() + " -o " +
          dir.string() + "3 --precision fp16 --q4-embedding",
      &out);
  EXPECT_EQ(bad_embd, 2) << out;
  EXPECT_NE(out.find("needs precision q4 or q4f16"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.string() + "3"));
}

// A Hugging Face source's own tokenizer files are copied byte for byte.
TEST(OnnxExport, HfSourceTokenizerFilesCopiedAsTheyAre) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path src = slmkit::testing::fixture("models/hf-gpt2-tiny-random");
  const fs::path dir = slmkit::testing::temp_dir("onnx_hf_tok") / "out";
  OnnxExportOptions o;
  o.variants = {OnnxVariant::plain};
  export_onnx(load_model(src), dir, o);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_EQ(slmkit::testing::read_text(dir / f), slmkit::testing::read_text(src / f)) << f;
  }
}

}  // namespace
}  // namespace slmkit
