// Presets against llama.cpp: for each preset, llama_model_quantize (prebuilt libllama, no
// imatrix) quantizes stories3M, and slmkit's plan must give every tensor the type llama.cpp gave
// it, and quantizing each tensor to that type must give llama.cpp's bytes. The file sizes are
// those of the fixtures README table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "peers/llama_cpp_peer.h"
#include "quant/presets.h"
#include "quant/quant.h"
#include "support/fixtures.h"
#include "support/llama_cpp.h"

namespace slmkit::quant {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* name;
  uint64_t file_bytes;  // llama.cpp's file, from the fixtures README (0: not listed there)
  const char* model = "models/stories3M/stories3M.gguf";
  const char* tag = nullptr;  // test name when not the preset's
};

// Without this gtest prints the struct's raw bytes (pointers) into the listed test names.
void PrintTo(const Case& c, std::ostream* os) {
  *os << (c.tag ? c.tag : c.name);
}

// stories260K: rows of 64 (fit 32, not 256) and ffn_down rows of 172 (fit neither), so every
// K-quant matrix takes a fallback and ffn_down goes to F16, in llama.cpp as here.
const Case kCases[] = {{"Q8_0", 3643808},
                       {"Q6_K", 2818464},
                       {"Q5_K_M", 2444192},
                       {"Q4_K_M", 2091936},
                       {"Q4_K_S", 1990048},
                       {"Q4_0", 1973664},
                       {"Q3_K_M", 1703328},
                       {"Q2_K", 1325472},
                       {"Q5_K_S", 0},
                       {"Q4_K_M", 0, "models/gguf-stories260K/stories260K.gguf", "Q4_K_M_260K"},
                       {"Q2_K", 0, "models/gguf-stories260K/stories260K.gguf", "Q2_K_260K"},
                       {"Q6_K", 0, "models/gguf-stories260K/stories260K.gguf", "Q6_K_260K"}};

class QuantPresets : public ::testing::TestWithParam<Case> {};

TEST_P(QuantPresets, Stories3MMatchesLlamaCpp) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const Case& c = GetParam();
  const Preset preset = preset_from_name(c.name).value();
  const fs::path input = testing::fixture(c.model);
  const fs::path dir = testing::temp_dir(std::string("quant_presets_") + (c.tag ? c.tag : c.name));
  const fs::path output = dir / "out.gguf";
  peers::LlamaCppQuantizeOptions options;
  options.ftype = static_cast<int32_t>(preset);
  options.n_threads = 1;
  peers::LlamaCppPeer::quantize(input, output, options);
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
    const gguf::TensorInfo* info = theirs.find_tensor(plan[i].name);
    ASSERT_NE(info, nullptr) << plan[i].name;
    EXPECT_EQ(dtype_name(plan[i].to), dtype_name(info->type))
        << info->name << " " << plan[i].reason;
    if (plan[i].to != info->type) continue;
    const std::vector<float> values = tensors[i].to_f32();
    const std::vector<std::byte> ours =
        quantize_rows(plan[i].to, values, static_cast<int64_t>(info->ne.at(0)));
    const std::span<const std::byte> expected = theirs.tensor_data(*info);
    const bool same =
        ours.size() == expected.size() && std::equal(ours.begin(), ours.end(), expected.begin());
    EXPECT_TRUE(same) << c.name << " " << info->name << " bytes differ";
    identical += same;
  }
  int fallbacks = 0;
  for (const TensorPlan& p : plan) fallbacks += p.fallback;
  std::printf("%s on %s: %d of %zu tensors with llama.cpp's type and bytes, %d fallbacks\n", c.name,
              c.model, identical, plan.size(), fallbacks);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Presets, QuantPresets, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.tag ? param.param.tag : param.param.name);
                         });

}  // namespace
}  // namespace slmkit::quant
