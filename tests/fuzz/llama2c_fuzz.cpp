// libFuzzer target for llama2.c checkpoints and tokenizer.bin: whatever the bytes, parse() and
// parse_tokenizer() return or throw slmkit::Error. A checkpoint that parses accounts for every
// byte of the input and its tensors can be read; a tokenizer that parses is self-consistent.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "formats/llama2c.h"
#include "slmkit/error.h"

namespace {

void fuzz_checkpoint(std::span<const std::byte> bytes) {
  slmkit::Model model;
  try {
    model = slmkit::llama2c::parse(bytes, "fuzz.bin", nullptr);
  } catch (const slmkit::Error&) {
    if (slmkit::llama2c::looks_like_checkpoint(bytes)) std::abort();
    return;
  }
  if (!slmkit::llama2c::looks_like_checkpoint(bytes)) std::abort();
  unsigned sum = 0;
  for (const slmkit::Tensor& t : model.tensors()) {
    for (std::byte b : t.bytes()) sum += std::to_integer<unsigned>(b);
  }
  static volatile unsigned sink;
  sink = sum;
  const auto& c = model.config;
  uint64_t expected = model.n_bytes();
  if (model.source.metadata.at("version") == 0) {
    expected += 28 + static_cast<uint64_t>(c.context_length * c.head_dim) * 4;  // RoPE tables
  } else {
    expected += 256;
  }
  if (expected != bytes.size()) std::abort();
}

void fuzz_tokenizer(std::span<const std::byte> bytes, int64_t vocab_size) {
  try {
    const slmkit::Vocab v = slmkit::llama2c::parse_tokenizer(bytes, vocab_size, "fuzz.tok");
    if (v.tokens.size() != v.scores.size() || v.tokens.size() != v.types.size()) std::abort();
    if (vocab_size > 0 && v.tokens.size() != static_cast<size_t>(vocab_size)) std::abort();
  } catch (const slmkit::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  fuzz_checkpoint(bytes);
  fuzz_tokenizer(bytes, 0);
  // The first two bytes as the model's vocab size, the rest as a tokenizer.bin.
  if (size >= 2) fuzz_tokenizer(bytes.subspan(2), data[0] | (data[1] << 8));
  return 0;
}
