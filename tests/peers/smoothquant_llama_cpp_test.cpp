// A smoothed GGUF (issue 17) is a standard GGUF: llama.cpp loads the outlier copy of stories260K
// smoothed at alpha 0.5 and quantized to Q8_0, and its greedy tokens are our engine's.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "peers/llama_cpp_peer.h"
#include "slmkit/engine.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "slmkit/smoothquant.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "support/llama_cpp.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

TEST(SmoothQuantLlamaCpp, SmoothedQ8_0GreedyMatchesOurEngine) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  Model model = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  add_outlier_channels(model, 4, 50.0f);
  const Tokenizer tokenizer(model.vocab);
  const std::string text = testing::read_text(testing::fixture("text/tinystories_val_subset.txt"));
  ActivationRangeOptions ro;
  ro.n_chunks = 8;
  ro.bos_id = tokenizer.bos_id();
  ro.n_threads = 1;
  const ActivationRanges ranges =
      collect_activation_ranges(Engine(model), tokenizer.encode(text.substr(0, 40000), true), ro);
  QuantizeOptions qo;
  qo.type = "Q8_0";
  const Model q8 = quantize_model(smooth_model(model, ranges, {.alpha = 0.5}), qo);
  const fs::path path = testing::temp_dir("smoothquant_llama_cpp") / "smoothed-Q8_0.gguf";
  save_model(q8, path, ModelFormat::gguf);

  const std::vector<int32_t> prompt = tokenizer.encode("Once upon a time", true);
  constexpr int32_t kNew = 40;
  const Engine engine(load_model(path));
  SessionOptions so;
  so.n_ctx = 256;
  so.n_threads = 1;
  Session session(engine, so);
  GenerateOptions go;
  go.n_predict = kNew;
  go.sampling.temperature = 0.0f;
  go.stop_tokens = {-1};  // no stop: always kNew tokens
  const std::vector<int32_t> ours = generate(session, prompt, go).tokens;

  const auto theirs_model = peers::LlamaCppModel::load(path);
  peers::LlamaCppContextOptions co;
  co.n_ctx = 256;
  co.n_batch = 256;
  co.n_threads = 1;
  peers::LlamaCppContext context(theirs_model, co);
  const std::vector<peers::LlamaToken> theirs = context.generate_greedy(prompt, kNew);
  std::printf("smoothed Q8_0, llama.cpp: \"%s\"\n", tokenizer.decode(theirs).c_str());
  EXPECT_EQ(std::vector<int32_t>(theirs.begin(), theirs.end()), ours);
}

}  // namespace
}  // namespace slmkit
