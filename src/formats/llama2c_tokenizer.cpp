// llama2.c's tokenizer.bin -> Vocab, spelled the way llama.cpp's convert-llama2c-to-ggml writes
// it into a GGUF, so a llama2.c model and its converted GGUF share one vocabulary.
#include <cctype>
#include <string_view>

#include "core/byte_reader.h"
#include "core/fail.h"
#include "core/mapped_file.h"
#include "formats/llama2c.h"

namespace slmkit::llama2c {
namespace {

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// The converter classifies with sscanf(text, "<0x%02hhX>", &b) == 1: the literal "<0x", then
// %X skips white space and converts at most 2 characters (an optional sign counts), so the
// test passes when a hex digit, or a sign and a hex digit, follow. The closing '>' is never
// checked. Mirrored here, including its leniency, so types match the converter's exactly.
bool converter_sees_byte_token(std::string_view text) {
  if (text.substr(0, 3) != "<0x") return false;
  size_t i = 3;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i >= text.size()) return false;
  if (is_hex(text[i])) return true;
  return (text[i] == '+' || text[i] == '-') && i + 1 < text.size() && is_hex(text[i + 1]);
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == ' ') {
      out += "\xe2\x96\x81";  // U+2581, SentencePiece's word boundary
    } else {
      out += c;
    }
  }
}

}  // namespace

Vocab parse_tokenizer(std::span<const std::byte> bytes, int64_t vocab_size, std::string path) {
  ByteReader r(bytes, path);
  const int32_t max_token_length = r.read<int32_t>("max_token_length");
  if (max_token_length < 0) {
    fail_invalid("{}: max_token_length at offset 0 is {}: expected >= 0", path, max_token_length);
  }
  constexpr uint64_t kMinTokenBytes = 8;  // score + length
  if (vocab_size > 0 && static_cast<uint64_t>(vocab_size) > r.remaining() / kMinTokenBytes) {
    fail_invalid("{}: {} tokens need at least {} bytes after the 4-byte header, the file has {}",
                 path, vocab_size, static_cast<uint64_t>(vocab_size) * kMinTokenBytes,
                 r.remaining());
  }
  const size_t expected = vocab_size > 0 ? static_cast<size_t>(vocab_size)
                                         : r.remaining() / kMinTokenBytes;  // an upper bound

  Vocab vocab;
  vocab.model = "llama";
  vocab.source = "tokenizer.bin";
  vocab.tokens.reserve(expected);
  vocab.scores.reserve(expected);
  vocab.types.reserve(expected);
  for (int64_t id = 0; vocab_size > 0 ? id < vocab_size : r.remaining() > 0; ++id) {
    if (r.remaining() < kMinTokenBytes) {
      r.error("token {}: truncated: need {} bytes for its score and length, {} left", id,
              kMinTokenBytes, r.remaining());
    }
    const float score = r.read<float>("token score");
    const size_t length_offset = r.offset();
    const int32_t length = r.read<int32_t>("token length");
    if (length < 0 || static_cast<uint64_t>(length) > r.remaining()) {
      fail_invalid("{}: token {}: length {} at offset {} is outside 0..{} (the bytes left)", path,
                   id, length, length_offset, r.remaining());
    }
    const std::string_view raw = r.string(static_cast<uint64_t>(length), "token text");
    // The converter passes c_str() on, so a token ends at its first NUL, as in run.c too.
    const std::string_view text = raw.substr(0, raw.find('\0'));

    std::string token;
    TokenType type;
    if (id == 0) {
      token = "<unk>";
      type = TokenType::unknown;
    } else if (id == 1) {
      token = "<s>";
      type = TokenType::control;
    } else if (id == 2) {
      token = "</s>";
      type = TokenType::control;
    } else {
      if (raw.empty()) {
        type = TokenType::control;
      } else if (converter_sees_byte_token(text)) {
        type = TokenType::byte;  // already spelled "<0xNN>"
      } else {
        type = TokenType::normal;
      }
      append_escaped(token, text);
    }
    vocab.tokens.push_back(std::move(token));
    vocab.scores.push_back(score);
    vocab.types.push_back(type);
  }
  if (vocab_size > 0 && r.remaining() != 0) {
    r.error("{} bytes follow the last of the model's {} tokens (tokenizer for another model?)",
            r.remaining(), vocab_size);
  }
  if (vocab.tokens.empty()) fail_invalid("{}: holds no tokens", path);
  const auto n = static_cast<int64_t>(vocab.tokens.size());
  vocab.unk_id = 0;
  vocab.bos_id = n > 1 ? 1 : -1;
  vocab.eos_id = n > 2 ? 2 : -1;
  return vocab;
}

Vocab read_tokenizer(const std::filesystem::path& path, int64_t vocab_size) {
  auto mapped = MappedFile::open(path);
  return parse_tokenizer(mapped->bytes(), vocab_size, path.string());
}

}  // namespace slmkit::llama2c
