// Building artifacts: names in the output tree, resuming (complete artifacts kept, temporaries of a
// killed run removed) and byte-identical output when built twice.
#include "pipeline/artifacts.h"

#include <gtest/gtest.h>

#include <map>

#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/quantize_auto.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {
namespace fs = std::filesystem;

TEST(PipelineArtifacts, Names) {
  using pipeline::ArtifactFormat;
  // Every name of an artifact comes from artifact_names.
  const auto gguf =
      pipeline::artifact_names("stories260K", {ArtifactFormat::gguf, quant::Preset::Q4_K_M});
  EXPECT_EQ(gguf.name, "stories260K-Q4_K_M");
  EXPECT_EQ(gguf.path, "stories260K-Q4_K_M.gguf");
  EXPECT_EQ(gguf.built, gguf.path);
  EXPECT_EQ(gguf.report_name, "stories260K-Q4_K_M.gguf");
  EXPECT_EQ(gguf.manifest, "manifests/stories260K-Q4_K_M.json");
  const auto onnx =
      pipeline::artifact_names("stories260K", {ArtifactFormat::onnx, OnnxPrecision::int8});
  EXPECT_EQ(onnx.name, "stories260K_onnx (int8)");
  EXPECT_EQ(onnx.path, "stories260K_onnx/onnx/decoder_model_int8.onnx");  // the plain graph
  EXPECT_EQ(onnx.built, "stories260K_onnx");
  EXPECT_EQ(onnx.report_name, "stories260K_onnx-int8.onnx");
  EXPECT_EQ(onnx.manifest, "manifests/stories260K_onnx-int8.json");
  EXPECT_EQ(pipeline::onnx_folder("stories260K"), "stories260K_onnx");
  // transformers.js and optimum load onnx/model{_dtype}.onnx as the decoder with past.
  EXPECT_EQ(pipeline::onnx_graph_file(OnnxPrecision::fp32, OnnxVariant::with_past),
            "onnx/model.onnx");
  EXPECT_EQ(pipeline::onnx_graph_file(OnnxPrecision::fp32, OnnxVariant::plain),
            "onnx/decoder_model.onnx");
  EXPECT_EQ(pipeline::onnx_graph_file(OnnxPrecision::int8, OnnxVariant::with_past),
            "onnx/model_int8.onnx");
  EXPECT_EQ(pipeline::onnx_graph_file(OnnxPrecision::q4, OnnxVariant::decode),
            "onnx/decode_q4.onnx");
  Model m;
  m.config.name = "my model/v1";
  // The input's name first (GGUF files often carry general.name "llama").
  EXPECT_EQ(pipeline::artifact_base_name(m, "dir/stories260K.bin"), "stories260K");
  EXPECT_EQ(pipeline::artifact_base_name(m, "dir/hf-folder/"), "hf-folder");
  EXPECT_EQ(pipeline::artifact_base_name(m, "dir/tinyllama-1.1b.gguf"), "tinyllama-1.1b");
  EXPECT_EQ(pipeline::artifact_base_name(m, "/"), "my_model_v1");
  // --name wins, made file-safe.
  EXPECT_EQ(pipeline::artifact_base_name(m, "dir/stories3M-F16.gguf", "stories 3M"), "stories_3M");
}

// --gguf auto:BUDGET: bytes (a whole number, "B" optional), bits per weight, decode tokens/s;
// anything else naming "auto:" is refused with the syntax, a preset name is not a budget.
TEST(PipelineArtifacts, AutoBudgetSyntaxAndNames) {
  using pipeline::AutoBudget;
  using pipeline::parse_auto_budget;
  EXPECT_EQ(parse_auto_budget("auto:2091936"), (AutoBudget{AutoBudget::Kind::bytes, 2091936}));
  EXPECT_EQ(parse_auto_budget("auto:2091936B"), (AutoBudget{AutoBudget::Kind::bytes, 2091936}));
  EXPECT_EQ(parse_auto_budget("auto:4.5bpw"), (AutoBudget{AutoBudget::Kind::bpw, 4.5}));
  EXPECT_EQ(parse_auto_budget("auto:120tps"), (AutoBudget{AutoBudget::Kind::tps, 120}));
  EXPECT_EQ(parse_auto_budget("Q4_K_M"), std::nullopt);
  for (const char* bad :
       {"auto:", "auto:2.5", "auto:-3bpw", "auto:fast", "auto:12xtps", "auto:0"}) {
    try {
      parse_auto_budget(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("auto:4.5bpw"), std::string::npos) << e.what();
    }
  }
  const auto names = pipeline::artifact_names(
      "stories3M", {pipeline::ArtifactFormat::gguf, AutoBudget{AutoBudget::Kind::bpw, 4.5}});
  EXPECT_EQ(names.name, "stories3M-auto-4.5bpw");
  EXPECT_EQ(names.path, "stories3M-auto-4.5bpw.gguf");
  EXPECT_EQ(pipeline::auto_budget_name({AutoBudget::Kind::bytes, 2091936}), "auto-2091936B");
  EXPECT_EQ(pipeline::auto_budget_name({AutoBudget::Kind::tps, 120}), "auto-120tps");
}

// An auto: GGUF is what quantize_auto writes for that budget (its .mix.json beside it), within the
// budget, and kept by a re-run. Slow: one measurement of stories260K (about 7 s on 2 busy cores).
TEST(PipelineArtifacts, SlowAutoGgufWithinBudgetAndReused) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model model = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  const std::string calib =
      testing::read_text(testing::fixture("text/tinystories_val_subset.txt")).substr(0, 8000);
  const fs::path dir = testing::temp_dir("pipeline-auto");
  const pipeline::AutoBudget budget{pipeline::AutoBudget::Kind::bytes, 400000};
  const fs::path path = dir / "s-auto.gguf";
  const pipeline::BuildOutcome first = pipeline::build_auto_gguf(model, budget, calib, path, 0);
  EXPECT_FALSE(first.reused);
  ASSERT_TRUE(fs::exists(path));
  EXPECT_TRUE(fs::exists(dir / "s-auto.gguf.mix.json"));
  EXPECT_LE(fs::file_size(path), 400000u);
  // The plan beside it describes this file (the MCP test compares quantize_auto's bytes with the
  // CLI's; one measurement here is enough).
  const nlohmann::json mix =
      nlohmann::json::parse(testing::read_text(dir / "s-auto.gguf.mix.json"));
  EXPECT_EQ(mix["file_bytes"].get<uint64_t>(), fs::file_size(path));
  EXPECT_EQ(mix["target_bytes"].get<uint64_t>(), 400000u);
  EXPECT_TRUE(pipeline::build_auto_gguf(model, budget, calib, path, 0).reused);
}

TEST(PipelineArtifacts, StaleTemporariesRemovedCompleteFilesKept) {
  const fs::path out = testing::temp_dir("pipeline-stale");
  fs::create_directories(out / "manifests");
  fs::create_directories(out / "m_onnx.partial-123" / "onnx");
  testing::write_bytes(out / "m-Q8_0.gguf.partial-77", {std::byte{1}});
  testing::write_bytes(out / "manifests" / "m-Q8_0.json.partial-77", {std::byte{1}});
  testing::write_bytes(out / "m-F16.gguf", {std::byte{2}});
  EXPECT_EQ(pipeline::remove_stale_temporaries(out), 3);
  EXPECT_FALSE(fs::exists(out / "m_onnx.partial-123"));
  EXPECT_FALSE(fs::exists(out / "m-Q8_0.gguf.partial-77"));
  EXPECT_TRUE(fs::exists(out / "m-F16.gguf"));
  EXPECT_EQ(pipeline::remove_stale_temporaries(out / "absent"), 0);
}

// Resuming after a kill relies on this: the same input gives the same bytes (no timestamps).
TEST(PipelineArtifacts, BuildsAreDeterministicAndReused) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_ONNX();
  const Model model = load_model(testing::fixture("models/llama2c-stories260K/stories260K.bin"));
  const fs::path a = testing::temp_dir("pipeline-build-a");
  const fs::path b = testing::temp_dir("pipeline-build-b");
  // Asked only for a w8a8 graph.
  const auto no_w8a8 = []() -> std::map<std::string, float> {
    ADD_FAILURE() << "w8a8 scales asked for without a w8a8 graph";
    return {};
  };
  for (const fs::path& dir : {a, b}) {
    EXPECT_FALSE(pipeline::build_gguf(model, quant::Preset::Q8_0, dir / "m-Q8_0.gguf", 1).reused);
    EXPECT_FALSE(pipeline::build_onnx(model, {OnnxPrecision::fp32, OnnxPrecision::int8},
                                      {OnnxVariant::plain}, dir / "m_onnx", no_w8a8)
                     .reused);
  }
  EXPECT_EQ(testing::read_bytes(a / "m-Q8_0.gguf"), testing::read_bytes(b / "m-Q8_0.gguf"));
  for (const char* f : {"config.json", "onnx/decoder_model.onnx", "onnx/decoder_model_int8.onnx"}) {
    EXPECT_EQ(testing::read_bytes(a / "m_onnx" / f), testing::read_bytes(b / "m_onnx" / f)) << f;
  }
  const auto before = fs::last_write_time(a / "m-Q8_0.gguf");
  EXPECT_TRUE(pipeline::build_gguf(model, quant::Preset::Q8_0, a / "m-Q8_0.gguf", 1).reused);
  EXPECT_EQ(fs::last_write_time(a / "m-Q8_0.gguf"), before);
  EXPECT_TRUE(pipeline::build_onnx(model, {OnnxPrecision::int8}, {OnnxVariant::plain}, a / "m_onnx",
                                   no_w8a8)
                  .reused);
  // A precision the folder lacks: exported again, with everything asked for.
  EXPECT_FALSE(
      pipeline::onnx_folder_complete(a / "m_onnx", {OnnxPrecision::q4}, {OnnxVariant::plain}));
}

}  // namespace
}  // namespace slmkit
