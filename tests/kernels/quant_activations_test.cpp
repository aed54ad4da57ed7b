// The vectorized activation quantizers (kernels/quant_activations.h) against their scalar twins:
// the same bytes on every ISA, for every block count up to 5 (and long rows), misaligned input
// and output, and the inputs where a rule decides: ties of magnitude between +m and -m (Q8_K's
// first maximum sets the sign), halves that round to even, zero blocks, one nonzero element.
#include <cmath>
#include <functional>

#include "kernel_test_util.h"
#include "kernels/quant_activations.h"
#include "kernels/quant_kernels.h"
#include "kernels/weight_types.h"

namespace slmkit::testing {
namespace {

using QuantizeFn = void (*)(const float*, int64_t, void*);

struct Quantizer {
  DType type;
  int64_t block;
  QuantizeFn simd;
  QuantizeFn scalar;
};

const Quantizer kQuantizers[] = {
    {DType::Q8_0, 32, kernels::quantize_q8_0, kernels::ref::quantize_q8_0},
    {DType::Q8_1, 32, kernels::quantize_q8_1, kernels::ref::quantize_q8_1},
    {DType::Q8_K, 256, kernels::quantize_q8_k, kernels::ref::quantize_q8_k},
};

// Rows of n values drawn to hit each rule: normal values, values on a grid of halves of the
// block's step, magnitude ties of both signs, zero blocks and lone nonzero elements.
std::vector<float> tricky_row(int64_t n, int64_t block, int kind, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::uniform_int_distribution<int> grid(-254, 254);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0:
        x[static_cast<size_t>(i)] = dist(rng);
        break;
      case 1:  // k / 2 for a block maximum of 127: every product lands on a half
        x[static_cast<size_t>(i)] = static_cast<float>(grid(rng)) * 0.5f;
        break;
      case 2:  // +-3 and smaller: the maximum magnitude appears with both signs
        x[static_cast<size_t>(i)] = static_cast<float>(grid(rng) % 4);
        break;
      default:  // zero blocks, with one element set in every other block
        x[static_cast<size_t>(i)] = (i / block) % 2 == 1 && i % block == 5 ? -0.25f : 0.0f;
        break;
    }
  }
  if (kind == 1) {
    for (int64_t b = 0; b < n / block; ++b) x[static_cast<size_t>(b * block + 3)] = 127.0f;
  }
  return x;
}

class QuantActivationsTest : public IsaTest {};

TEST_P(QuantActivationsTest, VectorizedQuantizersMatchTheScalarOnesByteForByte) {
  std::mt19937 rng(29);
  for (const Quantizer& q : kQuantizers) {
    const size_t block_bytes = kernels::quant_activation_bytes(q.type, q.block);
    for (int64_t blocks : {1, 2, 3, 5, 24}) {
      const int64_t n = blocks * q.block;
      for (int kind = 0; kind < 4; ++kind) {
        const std::vector<float> src = tricky_row(n, q.block, kind, rng);
        Buffer<float> x(static_cast<size_t>(n), 4);  // misaligned input
        std::copy(src.begin(), src.end(), x.data());
        Buffer<std::byte> got(static_cast<size_t>(blocks) * block_bytes, 3), want = got;
        std::memset(got.data(), 0x5a, got.size());
        std::memset(want.data(), 0xa5, want.size());
        q.simd(x.data(), n, got.data());
        q.scalar(x.data(), n, want.data());
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_EQ(got[i], want[i])
              << dtype_name(q.type) << " blocks " << blocks << " kind " << kind << " byte " << i
              << " (block " << i / block_bytes << ")";
        }
      }
    }
  }
}

// The engine's table converts through the dispatching quantizers.
TEST_P(QuantActivationsTest, ConverterOfEachTypeIsItsQuantizer) {
  std::mt19937 rng(31);
  for (const Quantizer& q : kQuantizers) {
    const std::vector<float> x = tricky_row(2 * q.block, q.block, 0, rng);
    const size_t bytes = kernels::quant_activation_bytes(q.type, 2 * q.block);
    std::vector<std::byte> a(bytes), b(bytes);
    kernels::activation_converter(q.type)(x.data(), 2 * q.block, a.data());
    q.scalar(x.data(), 2 * q.block, b.data());
    EXPECT_EQ(a, b) << dtype_name(q.type);
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantActivationsTest,
                         ::testing::ValuesIn(kernels::available_isas()), isa_param_name);

}  // namespace
}  // namespace slmkit::testing
