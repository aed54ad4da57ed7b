// SentencePiece tokenizer.model (protobuf) parsing and the tokenizer built from it: any bytes
// become a Vocab or throw slmkit::Error; a Tokenizer built from what parses encodes and decodes
// without leaving the vocabulary's id range.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "slmkit/error.h"
#include "slmkit/tokenizer.h"
#include "tokenizer/vocab_sources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto bytes = std::as_bytes(std::span<const uint8_t>(data, size));
    const slmkit::Tokenizer tok(slmkit::parse_sentencepiece_model(bytes, "fuzz.model"));
    const std::string_view tail(reinterpret_cast<const char*>(data), size < 64 ? size : 64);
    for (std::string_view text : {std::string_view("Hello world <s> \xe6\x88\x91\xff"), tail}) {
      for (bool parse_special : {false, true}) {
        const auto ids = tok.encode(text, true, parse_special);
        for (int32_t id : ids) {
          if (id < 0 || static_cast<size_t>(id) >= tok.size()) __builtin_trap();
        }
        (void)tok.decode(ids);
      }
    }
  } catch (const slmkit::Error&) {
  }
  return 0;
}
