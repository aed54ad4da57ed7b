// UTF-8 helpers shared by the encoders: sequence lengths as llama.cpp counts them, strict
// validation with U+FFFD repair, and GPT-2's byte <-> printable-character table.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace slmkit::tok {

// Length of the sequence a lead byte announces; continuation and invalid bytes count as 1,
// exactly as llama.cpp's unicode_len_utf8 does (the SentencePiece splitter relies on it).
inline size_t utf8_lead_len(unsigned char c) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[c >> 4];
}

// Length of the well-formed (RFC 3629) sequence starting at s[i], or 0 when it is not one.
size_t utf8_valid_len(std::string_view s, size_t i);

// True when the whole string is well-formed UTF-8.
bool utf8_is_valid(std::string_view s);

// A copy in which every byte that does not start a well-formed sequence becomes U+FFFD, one
// replacement per byte, as llama.cpp's codepoint decoder does before pre-tokenizing.
std::string utf8_repair(std::string_view s);

// Appends the UTF-8 encoding of a code point.
void utf8_append(std::string& out, uint32_t cp);

// Decodes one well-formed sequence at s[i] (caller checked it); returns the code point.
uint32_t utf8_decode(std::string_view s, size_t i, size_t len);

// GPT-2's bytes_to_unicode(): every byte has a printable stand-in character, so byte-level BPE
// vocabularies store "Ġ" (U+0120) for a space.
struct ByteLevelTable {
  std::array<std::string, 256> byte_to_text;  // UTF-8 of the stand-in character
  std::array<int16_t, 0x144> cp_to_byte;      // stand-in code point -> byte, -1 if none
};
const ByteLevelTable& byte_level_table();

// Decodes a byte-level token ("Ġthe") to raw bytes (" the"); false when a character has no byte.
bool byte_level_decode(std::string_view text, std::string& out);

}  // namespace slmkit::tok
