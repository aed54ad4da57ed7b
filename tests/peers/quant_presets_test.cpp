// Presets against llama.cpp: for each preset, llama_model_quantize (prebuilt libllama, no
// imatrix) quantizes stories3M, and slmkit's plan must give every tensor the type llama.cpp gave
// it, and quantizing each tensor to that type must give llama.cpp's bytes. The file sizes are
// those of the fixtures README table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/llama_cpp_peer.h"
#include "formats/gguf.h"
#include "quant/presets.h"
#include "quant/quant.h"
#include "support/fixtures.h"

namespace slmkit::quant {
namespace {

namespace fs = std::filesystem;

#define SLMKIT_REQUIRE_LLAMA_CPP()                                         \
  do {                                                                     \
    if (!::slmkit::bench::LlamaCppPeer::available())                       \
      GTEST_SKIP() << "llama.cpp peer not available: "                     \
                   << ::slmkit::bench::LlamaCppPeer::unavailable_reason(); \
  } while (0)

struct Case {
  const char* name;
  uint64_t file_bytes;  // llama.cpp's file, from the fixtures README (0: not listed there)
};

const Case kCases[] = {{"Q8_0", 3643808},   {"Q6_K", 2818464},   {"Q5_K_M", 2444192},
                       {"Q4_K_M", 2091936}, {"Q4_K_S", 1990048}, {"Q4_0", 1973664},
                       {"Q3_K_M", 1703328}, {"Q2_K", 1325472},   {"Q5_K_S", 0}};

class QuantPresets : public ::testing::TestWithParam<Case> {};

TEST_P(QuantPresets, Stories3MMatchesLlamaCpp) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const Case& c = GetParam();
  const Preset preset = preset_from_name(c.name).value();
  const fs::path input = testing::fixture("models/stories3M/stories3M.gguf");
  const fs::path dir = testing::temp_dir(std::string("quant_presets_") + c.name);
  const fs::path output = dir / "out.gguf";
  bench::LlamaCppQuantizeOptions options;
  options.ftype = static_cast<int32_t>(preset);
  options.n_threads = 1;
  bench::LlamaCppPeer::quantize(input, output, options);
  if (c.file_bytes) {
    EXPECT_EQ(fs::file_size(output), c.file_bytes);
  }

  const gguf::File src = gguf::read_file(input);
  const gguf::File theirs = gguf::read_file(output);
  std::vector<Tensor> tensors;
  for (const gguf::TensorInfo& info : src.tensors) tensors.push_back(src.tensor(info));
  ModelFacts facts;
  facts.n_layer = static_cast<int>(src.find("llama.block_count")->as_i64("block_count"));
  facts.n_head = static_cast<int>(src.find("llama.attention.head_count")->as_i64("head_count"));
  facts.n_head_kv =
      static_cast<int>(src.find("llama.attention.head_count_kv")->as_i64("head_count_kv"));
  const std::vector<TensorPlan> plan = plan_types(preset, tensors, facts);

  ASSERT_EQ(plan.size(), theirs.tensors.size());
  int identical = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    const gguf::TensorInfo& info = theirs.tensors[i];
    ASSERT_EQ(plan[i].name, info.name);
    EXPECT_EQ(dtype_name(plan[i].to), dtype_name(info.type)) << info.name << " " << plan[i].reason;
    if (plan[i].to != info.type) continue;
    const std::vector<float> values = tensors[i].to_f32();
    const std::vector<std::byte> ours =
        quantize_rows(plan[i].to, values, static_cast<int64_t>(info.ne.at(0)));
    const std::span<const std::byte> expected = theirs.tensor_data(info);
    const bool same =
        ours.size() == expected.size() && std::equal(ours.begin(), ours.end(), expected.begin());
    EXPECT_TRUE(same) << c.name << " " << info.name << " bytes differ";
    identical += same;
  }
  std::printf("%s: %d of %zu tensors with llama.cpp's type and bytes\n", c.name, identical,
              plan.size());
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Presets, QuantPresets, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace slmkit::quant
