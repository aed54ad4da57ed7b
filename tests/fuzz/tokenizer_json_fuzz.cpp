// tokenizer.json parsing and the tokenizer built from it: any bytes either become a Vocab (and
// then a Tokenizer or a clean Error) or throw slmkit::Error; encode/decode of the result stays
// in range. The first byte picks whether the input is the tokenizer.json or a tokenizer_config
// paired with a fixed small tokenizer.json.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "slmkit/error.h"
#include "slmkit/tokenizer.h"
#include "tokenizer/vocab_sources.h"

namespace {
constexpr std::string_view kSmall = R"({
  "added_tokens": [{"id": 4, "content": "<|end|>", "special": true}],
  "pre_tokenizer": {"type": "ByteLevel", "use_regex": true},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "<|end|>": 4},
            "merges": ["a b", "\u0120 ab"]}})";

void exercise(const slmkit::Vocab& vocab, std::string_view text) {
  const slmkit::Tokenizer tok(vocab);
  for (bool parse_special : {false, true}) {
    const auto ids = tok.encode(text, true, parse_special);
    for (int32_t id : ids) {
      if (id < 0 || static_cast<size_t>(id) >= tok.size()) __builtin_trap();
    }
    (void)tok.decode(ids);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const slmkit::Vocab vocab = (data[0] & 1)
                                    ? slmkit::parse_tokenizer_json(kSmall, "fuzz.json", input)
                                    : slmkit::parse_tokenizer_json(input, "fuzz.json");
    exercise(vocab, "ab ab<|end|> x\xff\xfe");
    exercise(vocab, input.substr(0, 256));
  } catch (const slmkit::Error&) {
  }
  return 0;
}
