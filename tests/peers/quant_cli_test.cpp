// `slmkit quantize` end to end against llama.cpp: our Q8_0 and Q4_K_M files of stories3M (from
// its GGUF and from its llama2.c checkpoint) hold, tensor for tensor, the bytes llama.cpp's own
// quantizer writes, llama.cpp loads them with the same description, and greedy generation from
// them equals generation from llama.cpp's own file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "peers/llama_cpp_peer.h"
#include "support/fixtures.h"
#include "support/llama_cpp.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* preset;
  const char* input;      // fixture path
  const char* reference;  // the same model as GGUF, for llama.cpp to quantize
  const char* tag;
};

// Keeps gtest from printing the struct's raw bytes into the listed test names.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.tag;
}

const char* const k3M = "models/stories3M/stories3M.gguf";
const char* const k260K = "models/gguf-stories260K/stories260K.gguf";

// stories260K's 172-wide ffn_down rows fit no block: F16 there, in both files.
const Case kCases[] = {
    {"Q8_0", k3M, k3M, "Q8_0_FromGguf"},
    {"Q4_K_M", k3M, k3M, "Q4_K_M_FromGguf"},
    {"Q4_K_M", "models/stories3M/stories3M.bin", k3M, "Q4_K_M_FromLlama2c"},
    {"Q4_K_M", k260K, k260K, "Q4_K_M_260KFromGguf"},
};

std::vector<peers::LlamaToken> greedy(const peers::LlamaCppModel& model) {
  const auto prompt = model.tokenize("Once upon a time", true, false);
  peers::LlamaCppContextOptions options;
  options.n_ctx = 128;
  options.n_batch = 128;
  options.n_threads = 1;
  peers::LlamaCppContext context(model, options);
  return context.generate_greedy(prompt, 40);
}

class QuantCli : public ::testing::TestWithParam<Case> {};

TEST_P(QuantCli, LlamaCppLoadsAndMatchesItsOwnFile) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const Case& c = GetParam();
  const fs::path dir = testing::temp_dir(std::string("quant_cli_") + c.tag);
  const fs::path ours = dir / "ours.gguf";
  const fs::path theirs = dir / "theirs.gguf";
  const fs::path report = dir / "report.json";
  std::string input = testing::fixture(c.input).string();
  if (fs::path(c.input).extension() == ".bin")
    input += " --tokenizer " + testing::fixture("models/llama2c-stories260K/tok512.bin").string();
  std::string out;
  const int rc =
      testing::run_command(testing::cli_path().string() + " quantize " + input + " -t " + c.preset +
                               " -o " + ours.string() + " --threads 2 --json " + report.string(),
                           &out);
  ASSERT_EQ(rc, 0) << out;
  std::printf("%s", out.c_str());
  EXPECT_NE(out.find("quantized in"), std::string::npos) << "prints wall time and throughput";
  const std::string json = testing::read_text(report);
  EXPECT_NE(json.find("\"tensors\""), std::string::npos);

  peers::LlamaCppQuantizeOptions options;
  options.ftype = quant::llama_ftype_from_name(c.preset).value();
  options.n_threads = 1;
  peers::LlamaCppPeer::quantize(testing::fixture(c.reference), theirs, options);

  // Tensor for tensor, the same type and bytes.
  const gguf::File a = gguf::read_file(ours);
  const gguf::File b = gguf::read_file(theirs);
  EXPECT_EQ(a.find("general.file_type")->as_u64("file_type"),
            b.find("general.file_type")->as_u64("file_type"));
  EXPECT_EQ(a.find("general.quantization_version")->as_u64("quantization_version"), 2u);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  int identical = 0;
  for (const gguf::TensorInfo& tb : b.tensors) {
    const gguf::TensorInfo* ta = a.find_tensor(tb.name);
    ASSERT_NE(ta, nullptr) << tb.name;
    EXPECT_EQ(ta->type, tb.type) << tb.name;
    const auto da = a.tensor_data(*ta);
    const auto db = b.tensor_data(tb);
    const bool same = da.size() == db.size() && std::equal(da.begin(), da.end(), db.begin());
    EXPECT_TRUE(same) << tb.name;
    identical += same;
  }
  std::printf("%s: %d of %zu tensors byte-identical to llama.cpp's file\n", c.tag, identical,
              b.tensors.size());

  const peers::LlamaCppModel mine = peers::LlamaCppModel::load(ours);
  const peers::LlamaCppModel reference = peers::LlamaCppModel::load(theirs);
  EXPECT_EQ(mine.info().ftype_name, reference.info().ftype_name);
  EXPECT_EQ(mine.info().size_bytes, reference.info().size_bytes);
  EXPECT_EQ(mine.info().n_params, reference.info().n_params);
  const auto from_mine = greedy(mine);
  EXPECT_EQ(from_mine, greedy(reference));
  std::printf("%s greedy: \"%s\"\n", c.tag, mine.detokenize(from_mine).c_str());
  fs::remove_all(dir);
}

// A Hugging Face folder (GPT-2, 16-wide rows: every matrix stays F16 with a recorded fallback,
// the 64-wide ffn_down takes Q8_0): llama.cpp loads the file and generates from it.
TEST(QuantCliHf, Gpt2FolderLoadsInLlamaCpp) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path dir = testing::temp_dir("quant_cli_hf");
  const fs::path ours = dir / "gpt2.gguf";
  std::string out;
  const int rc = testing::run_command(testing::cli_path().string() + " quantize " +
                                          testing::fixture("models/hf-gpt2-tiny-random").string() +
                                          " -t Q4_K_M -o " + ours.string() + " --json " +
                                          (dir / "r.json").string(),
                                      &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("blk.0.attn_qkv.weight: f32 -> f16"), std::string::npos) << out;
  const std::string json = testing::read_text(dir / "r.json");
  EXPECT_NE(json.find("\"fallback\": true"), std::string::npos);

  const peers::LlamaCppModel model = peers::LlamaCppModel::load(ours);
  EXPECT_EQ(model.info().architecture, "gpt2");
  EXPECT_EQ(model.info().ftype_name, "Q4_K - Medium");
  EXPECT_EQ(greedy(model).size(), 40u);

  const int strict =
      testing::run_command(testing::cli_path().string() + " quantize " +
                               testing::fixture("models/hf-gpt2-tiny-random").string() +
                               " -t Q4_K_M --strict -o " + (dir / "s.gguf").string(),
                           &out);
  EXPECT_EQ(strict, 2) << out;
  EXPECT_NE(out.find("--strict"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "s.gguf"));
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Files, QuantCli, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.tag);
                         });

}  // namespace
}  // namespace slmkit
