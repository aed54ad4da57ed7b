// `slmkit quantize -t auto` end to end against llama.cpp: the mixed file of stories260K (Q4_0,
// Q5_0, Q5_1, Q8_0 and F16 tensors side by side, its rows fitting no K-quant) at the size of its
// Q4_K_M file loads in llama.cpp with the file type we wrote, and llama.cpp's greedy continuation
// equals our engine's on the same file, within the parity argument of
// engine_quant_parity_test.cpp: the two sides may round an activation to adjacent 8-bit steps, so
// a greedy step may differ only where llama.cpp's top two logits lie within 2 x 2E of each other,
// E being how far rounding every activation moves our logits (measured on the same weights
// widened to F32).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "peers/llama_cpp_peer.h"
#include "quant/llama_ftype.h"
#include "slmkit/engine.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "support/llama_cpp.h"
#include "support/llama_cpp_parity.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

TEST(QuantAutoPeer, Stories260KMixRunsInLlamaCpp) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
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
  const testing::GreedyParity p = testing::greedy_parity(ours, theirs_model, prompt, kGreedy);
  std::printf(
      "auto mix (%s) %llu bytes: max |diff| %.2e of the logit range, bound 2E %.2e; "
      "greedy %zu of %d identical\n",
      types.c_str(), static_cast<unsigned long long>(fs::file_size(gguf)), p.relative, 2 * p.e,
      p.same, kGreedy);
  testing::expect_greedy_parity(p);
}

}  // namespace
}  // namespace slmkit
