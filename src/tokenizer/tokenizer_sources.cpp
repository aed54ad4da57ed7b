// Finding the tokenizer in whatever the user points at: a model (GGUF, Hugging Face folder,
// llama2.c checkpoint) or a vocabulary file, told apart by content where names are ambiguous.
#include <cstring>

#include "core/fail.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "formats/llama2c.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {

namespace {

namespace fs = std::filesystem;

// llama2.c tokenizer.bin: int32 max_token_length, then (f32 score, int32 len, bytes) records to
// the end of the file. Returns the record count, or -1 when the bytes do not walk exactly.
int64_t count_llama2c_tokens(std::span<const std::byte> b) {
  if (b.size() < 4) return -1;
  int32_t max_len = 0;
  std::memcpy(&max_len, b.data(), 4);
  if (max_len <= 0 || max_len > (1 << 20)) return -1;
  size_t pos = 4;
  int64_t count = 0;
  while (pos < b.size()) {
    if (b.size() - pos < 8) return -1;
    int32_t len = 0;
    std::memcpy(&len, b.data() + pos + 4, 4);
    if (len < 0 || len > max_len || b.size() - pos - 8 < static_cast<size_t>(len)) return -1;
    pos += 8 + static_cast<size_t>(len);
    ++count;
  }
  return count > 0 ? count : -1;
}

bool looks_like_sentencepiece(std::span<const std::byte> b) {
  // A ModelProto starts with field 1 (pieces), length-delimited: tag byte 0x0A, and the first
  // piece starts with its own field 1 (0x0A) a varint length later.
  if (b.size() < 4 || b[0] != std::byte{0x0A}) return false;
  size_t i = 1;
  while (i < b.size() && i < 6 && (static_cast<uint8_t>(b[i]) & 0x80)) ++i;
  return i + 1 < b.size() && b[i + 1] == std::byte{0x0A};
}

Vocab vocab_of_file(const fs::path& path) {
  const std::string name = path.filename().string();
  auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  if (gguf::has_magic(bytes)) {
    Vocab v = gguf::read_vocab(gguf::read_file(path));
    if (v.empty())
      fail_invalid("{}: the GGUF file has no tokenizer (tokenizer.ggml.*)", path.string());
    return v;
  }
  if (path.extension() == ".json") {
    if (name == "vocab.json" || name == "encoder.json") {
      for (const char* merges : {"merges.txt", "vocab.bpe"}) {
        if (fs::exists(path.parent_path() / merges)) {
          return read_vocab_and_merges(path, path.parent_path() / merges);
        }
      }
      fail_invalid("{}: no merges.txt or vocab.bpe beside it", path.string());
    }
    return read_tokenizer_json(path);
  }
  if (path.extension() == ".bpe") {
    for (const char* vocab : {"encoder.json", "vocab.json"}) {
      if (fs::exists(path.parent_path() / vocab)) {
        return read_vocab_and_merges(path.parent_path() / vocab, path);
      }
    }
    fail_invalid("{}: no encoder.json or vocab.json beside it", path.string());
  }
  if (path.extension() == ".model" || looks_like_sentencepiece(bytes)) {
    return read_sentencepiece_model(path);
  }
  if (llama2c::looks_like_checkpoint(bytes)) {
    Vocab v = load_model(path).vocab;
    if (v.empty()) {
      fail_invalid(
          "{}: a llama2.c checkpoint carries no vocabulary; put its tokenizer.bin (or "
          "tok<vocab>.bin) beside it, or pass that file instead",
          path.string());
    }
    return v;
  }
  const int64_t n = count_llama2c_tokens(bytes);
  if (n > 0) return llama2c::read_tokenizer(path, n);
  fail_invalid(
      "{}: not a tokenizer this knows: expected GGUF, tokenizer.json, vocab.json + merges.txt, "
      "tokenizer.model, a llama2.c tokenizer.bin or checkpoint",
      path.string());
}

}  // namespace

Vocab read_folder_vocab(const std::filesystem::path& dir) {
  if (fs::exists(dir / "tokenizer.json")) return read_tokenizer_json(dir / "tokenizer.json");
  if (fs::exists(dir / "tokenizer.model")) return read_sentencepiece_model(dir / "tokenizer.model");
  for (const char* vocab : {"vocab.json", "encoder.json"}) {
    for (const char* merges : {"merges.txt", "vocab.bpe"}) {
      if (fs::exists(dir / vocab) && fs::exists(dir / merges)) {
        return read_vocab_and_merges(dir / vocab, dir / merges);
      }
    }
  }
  return {};
}

Tokenizer Tokenizer::from_path(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail_io("{}: no such file or folder", path.string());
  Vocab vocab;
  if (fs::is_directory(status)) {
    vocab = read_folder_vocab(path);
    if (vocab.empty()) vocab = load_model(path).vocab;
    if (vocab.empty()) fail_invalid("{}: the folder holds no tokenizer", path.string());
  } else {
    vocab = vocab_of_file(path);
  }
  return Tokenizer(std::move(vocab));
}

}  // namespace slmkit
