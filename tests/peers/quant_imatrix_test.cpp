// Bit-exactness of the importance-weighted quantizers against llama.cpp's: llama_model_quantize
// (prebuilt libllama, `pure`) given an imatrix takes quantize_row_<type>_impl for every matrix
// the imatrix covers, and each such tensor must equal, byte for byte, quant::quantize_rows with
// the same weights. Two imatrices: a real one collected by slmkit on stories3M (8 chunks of the
// training part of the TinyStories subset), and random weights with zeros and a wide range on
// the same tensors (edge cases for the weighted searches).
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "peers/llama_cpp_peer.h"
#include "quant/quant.h"
#include "slmkit/engine.h"
#include "slmkit/imatrix.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

const char* const kStories3M = "models/stories3M/stories3M.gguf";

struct Case {
  const char* ftype_name;
  DType type;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.ftype_name;
}

const Case kCases[] = {
    {"Q4_0", DType::Q4_0}, {"Q4_1", DType::Q4_1}, {"Q5_0", DType::Q5_0},
    {"Q5_1", DType::Q5_1}, {"Q2_K", DType::Q2_K}, {"Q3_K", DType::Q3_K},
    {"Q4_K", DType::Q4_K}, {"Q5_K", DType::Q5_K}, {"Q6_K", DType::Q6_K},
};

using Weights = std::map<std::string, std::vector<float>>;

const Weights& collected_weights() {
  static const Weights weights = [] {
    Model model = load_model(testing::fixture(kStories3M));
    const Tokenizer tokenizer(model.vocab);
    const Engine engine(std::move(model));
    const std::string text =
        testing::read_text(testing::fixture("text/tinystories_val_subset.txt"));
    const std::vector<int32_t> tokens = tokenizer.encode(text.substr(0, 60000), true);
    ImatrixOptions o;
    o.n_ctx = 256;
    o.n_chunks = 8;
    o.bos_id = tokenizer.bos_id();
    const ImportanceMatrix im = collect_imatrix(engine, tokens, o);
    Weights w;
    for (const auto& [name, e] : im.entries) w[name] = im.weights(name);
    return w;
  }();
  return weights;
}

const Weights& random_weights() {
  static const Weights weights = [] {
    Weights w;
    std::mt19937 rng(99);
    std::lognormal_distribution<float> wide(0.0f, 3.0f);
    for (const auto& [name, v] : collected_weights()) {
      std::vector<float>& out = w[name];
      for (size_t i = 0; i < v.size(); ++i) out.push_back(i % 37 == 5 ? 0.0f : wide(rng));
    }
    return w;
  }();
  return weights;
}

void compare(const Case& c, const Weights& weights, const std::string& tag) {
  const fs::path dir = testing::temp_dir(std::string("quant_imatrix_") + c.ftype_name + tag);
  const fs::path input = testing::fixture(kStories3M);
  const fs::path output = dir / "theirs.gguf";
  peers::LlamaCppQuantizeOptions options;
  options.ftype = quant::llama_ftype_from_name(c.ftype_name).value();
  options.n_threads = 1;
  options.pure = true;
  options.imatrix = weights;
  peers::LlamaCppPeer::quantize(input, output, options);

  const gguf::File src = gguf::read_file(input);
  const gguf::File theirs = gguf::read_file(output);
  int n_weighted = 0, n_identical = 0;
  for (const gguf::TensorInfo& info : theirs.tensors) {
    if (info.type != c.type) continue;
    const auto it = weights.find(info.name);
    const float* importance = it == weights.end() ? nullptr : it->second.data();
    const std::vector<float> values = src.tensor(*src.find_tensor(info.name)).to_f32();
    const std::vector<std::byte> ours =
        quant::quantize_rows(c.type, values, static_cast<int64_t>(info.ne.at(0)), 1, importance);
    const std::span<const std::byte> expected = theirs.tensor_data(info);
    ASSERT_EQ(ours.size(), expected.size()) << info.name;
    size_t different = 0;
    for (size_t i = 0; i < ours.size(); ++i) different += ours[i] != expected[i];
    if (importance) ++n_weighted;
    if (different == 0) {
      n_identical += importance ? 1 : 0;
    } else {
      ADD_FAILURE() << c.ftype_name << tag << " " << info.name << ": " << different << " of "
                    << ours.size() << " bytes differ";
    }
  }
  std::printf("%s%s: %d of %d imatrix-weighted tensors identical\n", c.ftype_name, tag.c_str(),
              n_identical, n_weighted);
  // 4 layers x 7 matrices are covered; token_embd and output are not (llama-imatrix skips them).
  EXPECT_EQ(n_weighted, 28);
  EXPECT_EQ(n_identical, n_weighted);
  fs::remove_all(dir);
}

class QuantImatrixBitExact : public ::testing::TestWithParam<Case> {};

TEST_P(QuantImatrixBitExact, Stories3MCollected) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::LlamaCppPeer::available())
    GTEST_SKIP() << "llama.cpp peer not available: " << peers::LlamaCppPeer::unavailable_reason();
  compare(GetParam(), collected_weights(), "");
}

TEST_P(QuantImatrixBitExact, Stories3MRandomWeights) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::LlamaCppPeer::available())
    GTEST_SKIP() << "llama.cpp peer not available: " << peers::LlamaCppPeer::unavailable_reason();
  compare(GetParam(), random_weights(), "_random");
}

INSTANTIATE_TEST_SUITE_P(Types, QuantImatrixBitExact, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.ftype_name);
                         });

}  // namespace
}  // namespace slmkit
