// Bit-exactness of slmkit's quantizers against llama.cpp's: llama_model_quantize (prebuilt
// libllama, `pure` so every matrix gets the one type, no importance matrix) quantizes a GGUF, and
// every tensor it quantized must equal, byte for byte, what quant::quantize_rows makes of the same
// F32 input. Without an imatrix llama.cpp's quantize_<type>() takes the reference path
// (quantize_row_<type>_ref) for every type tested here; that is the path slmkit reproduces.
//
// Two inputs: stories3M (real trained weights, every row a multiple of 256) and the same file with
// every tensor replaced by synthetic rows that hit the edge cases (all-zero and constant blocks,
// lone outliers, one-signed rows, values whose scales underflow f16, ties at .5 steps).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "peers/llama_cpp_peer.h"
#include "quant/quant.h"
#include "support/fixtures.h"
#include "support/llama_cpp.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

const char* const kStories3M = "models/stories3M/stories3M.gguf";

struct Case {
  const char* ftype_name;  // llama-quantize's name; with `pure` the file's one matrix type
  DType type;
};

// Keeps gtest from printing the struct's raw bytes into the listed test names.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.ftype_name;
}

const Case kCases[] = {
    {"Q8_0", DType::Q8_0}, {"Q4_0", DType::Q4_0}, {"Q4_1", DType::Q4_1}, {"Q5_0", DType::Q5_0},
    {"Q5_1", DType::Q5_1}, {"Q2_K", DType::Q2_K}, {"Q3_K", DType::Q3_K}, {"Q4_K", DType::Q4_K},
    {"Q5_K", DType::Q5_K}, {"Q6_K", DType::Q6_K},
};

// One synthetic row of n floats; `kind` picks the pattern.
void synthetic_row(int kind, std::mt19937& rng, float* x, int64_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) x[i] = normal(rng) * 0.05f;
  switch (kind % 10) {
    case 0:  // plain gaussian weights
      break;
    case 1:  // all zero
      std::fill(x, x + n, 0.0f);
      break;
    case 2:  // constant blocks, alternating sign per 32
      for (int64_t i = 0; i < n; ++i) x[i] = ((i / 32) % 2 ? -0.25f : 0.25f);
      break;
    case 3:  // gaussian with one large outlier per 64
      for (int64_t i = 0; i < n; i += 64) x[i + (i / 64) % 64] = (i % 128 ? -40.0f : 40.0f);
      break;
    case 4:  // strictly positive (K-quant mins are all zero)
      for (int64_t i = 0; i < n; ++i) x[i] = std::fabs(x[i]) + 0.01f;
      break;
    case 5:  // strictly negative
      for (int64_t i = 0; i < n; ++i) x[i] = -std::fabs(x[i]) - 0.01f;
      break;
    case 6:  // tiny: per-block scales underflow to f16 zero or subnormals
      for (int64_t i = 0; i < n; ++i) x[i] *= 1e-5f;
      break;
    case 7:  // small integers: many exact .5 ties after scaling
      for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(static_cast<int>(rng() % 17) - 8);
      break;
    case 8:  // zero blocks mixed with large values
      for (int64_t i = 0; i < n; ++i) x[i] = ((i / 16) % 3 == 0) ? 0.0f : x[i] * 2000.0f;
      break;
    default:  // heavy tails
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] * x[i] * x[i] * 400.0f;
      break;
  }
}

// stories3M with every tensor's values replaced by synthetic rows (shapes and metadata kept, so
// llama.cpp still loads it as a model).
fs::path synthetic_model(const fs::path& dir) {
  const fs::path path = dir / "synthetic-stories3M.gguf";
  const gguf::File in = gguf::read_file(testing::fixture(kStories3M));
  gguf::Writer writer(in.version);
  for (const gguf::KeyValue& kv : in.kvs) writer.set(kv.key, kv.value);
  std::mt19937 rng(1234);
  std::vector<std::vector<float>> buffers;
  buffers.reserve(in.tensors.size());
  int row_counter = 0;
  for (const gguf::TensorInfo& info : in.tensors) {
    EXPECT_EQ(info.type, DType::F32) << info.name;
    const int64_t n_per_row = static_cast<int64_t>(info.ne.at(0));
    const int64_t n = static_cast<int64_t>(info.n_bytes / sizeof(float));
    std::vector<float>& data = buffers.emplace_back(static_cast<size_t>(n));
    for (int64_t r = 0; r < n / n_per_row; ++r)
      synthetic_row(row_counter++, rng, data.data() + r * n_per_row, n_per_row);
    writer.add_tensor(info.name, DType::F32, info.shape(),
                      std::as_bytes(std::span<const float>(data)));
  }
  writer.write(path);
  return path;
}

struct Comparison {
  int n_compared = 0;
  int n_identical = 0;
  uint64_t bytes_compared = 0;
  uint64_t bytes_different = 0;
};

Comparison compare_with_llama_cpp(const fs::path& input, const Case& c, const fs::path& dir) {
  const fs::path output = dir / (std::string(c.ftype_name) + ".gguf");
  peers::LlamaCppQuantizeOptions options;
  options.ftype = quant::llama_ftype_from_name(c.ftype_name).value();
  options.n_threads = 1;
  options.pure = true;
  peers::LlamaCppPeer::quantize(input, output, options);

  const gguf::File src = gguf::read_file(input);
  const gguf::File theirs = gguf::read_file(output);
  Comparison result;
  for (const gguf::TensorInfo& info : theirs.tensors) {
    if (info.type != c.type) {
      EXPECT_EQ(info.ne.size(), 1u) << info.name << ": only 1-D tensors stay unquantized";
      continue;
    }
    const gguf::TensorInfo* original = src.find_tensor(info.name);
    EXPECT_NE(original, nullptr) << info.name;
    if (!original) continue;
    const std::vector<float> values = src.tensor(*original).to_f32();
    const std::vector<std::byte> ours =
        quant::quantize_rows(c.type, values, static_cast<int64_t>(info.ne.at(0)));
    const std::span<const std::byte> expected = theirs.tensor_data(info);
    ++result.n_compared;
    result.bytes_compared += expected.size();
    EXPECT_EQ(ours.size(), expected.size()) << info.name;
    if (ours.size() != expected.size()) continue;
    uint64_t different = 0;
    size_t first = SIZE_MAX;
    for (size_t i = 0; i < ours.size(); ++i) {
      if (ours[i] != expected[i]) {
        ++different;
        if (first == SIZE_MAX) first = i;
      }
    }
    result.bytes_different += different;
    if (different == 0) {
      ++result.n_identical;
    } else {
      ADD_FAILURE() << c.ftype_name << " " << info.name << ": " << different << " of "
                    << ours.size() << " bytes differ, first at byte " << first << " (block "
                    << first / traits(c.type).block_bytes << ")";
    }
  }
  std::printf("%s: %d of %d quantized tensors identical (%llu bytes compared, %llu differ)\n",
              c.ftype_name, result.n_identical, result.n_compared,
              static_cast<unsigned long long>(result.bytes_compared),
              static_cast<unsigned long long>(result.bytes_different));
  return result;
}

class QuantBitExact : public ::testing::TestWithParam<Case> {};

TEST_P(QuantBitExact, Stories3M) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path dir =
      testing::temp_dir(std::string("quant_bitexact_real_") + GetParam().ftype_name);
  const Comparison r = compare_with_llama_cpp(testing::fixture(kStories3M), GetParam(), dir);
  // stories3M: token_embd, output and 7 matrices in each of 4 layers.
  EXPECT_EQ(r.n_compared, 30);
  EXPECT_EQ(r.n_identical, r.n_compared);
  fs::remove_all(dir);
}

TEST_P(QuantBitExact, Synthetic) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path dir =
      testing::temp_dir(std::string("quant_bitexact_syn_") + GetParam().ftype_name);
  const Comparison r = compare_with_llama_cpp(synthetic_model(dir), GetParam(), dir);
  EXPECT_EQ(r.n_compared, 30);
  EXPECT_EQ(r.n_identical, r.n_compared);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantBitExact, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.ftype_name);
                         });

}  // namespace
}  // namespace slmkit
