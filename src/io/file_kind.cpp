#include "io/file_kind.h"

#include <cstring>

#include "core/fail.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "formats/llama2c.h"

namespace slmkit::io {
namespace {

namespace fs = std::filesystem;

bool looks_like_sentencepiece(std::span<const std::byte> b) {
  // A ModelProto starts with field 1 (pieces), length-delimited: tag byte 0x0A, and the first
  // piece starts with its own field 1 (0x0A) a varint length later.
  if (b.size() < 4 || b[0] != std::byte{0x0A}) return false;
  size_t i = 1;
  while (i < b.size() && i < 6 && (static_cast<uint8_t>(b[i]) & 0x80)) ++i;
  return i + 1 < b.size() && b[i + 1] == std::byte{0x0A};
}

}  // namespace

std::string_view file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::folder:
      return "folder";
    case FileKind::gguf:
      return "GGUF";
    case FileKind::hf_model_file:
      return "Hugging Face model file";
    case FileKind::onnx_graph:
      return "ONNX graph";
    case FileKind::tokenizer_json:
      return "tokenizer.json";
    case FileKind::bpe_vocab_json:
      return "BPE vocab.json";
    case FileKind::bpe_merges:
      return "BPE merges";
    case FileKind::sentencepiece:
      return "SentencePiece model";
    case FileKind::llama2c_checkpoint:
      return "llama2.c checkpoint";
    case FileKind::llama2c_tokenizer:
      return "llama2.c tokenizer";
    case FileKind::unknown:
      break;
  }
  return "unknown";
}

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

FileKind sniff(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail_io("{}: no such file or folder", path.string());
  if (fs::is_directory(status)) return FileKind::folder;
  const std::string name = path.filename().string();
  const fs::path ext = path.extension();
  const auto mapped = MappedFile::open(path);
  const auto bytes = mapped->bytes();
  if (gguf::has_magic(bytes)) return FileKind::gguf;
  if (name == "config.json" || name == "model.safetensors" ||
      name == "model.safetensors.index.json") {
    return FileKind::hf_model_file;
  }
  if (ext == ".onnx") return FileKind::onnx_graph;
  if (ext == ".gguf") return FileKind::gguf;
  if (ext == ".json") {
    return name == "vocab.json" || name == "encoder.json" ? FileKind::bpe_vocab_json
                                                          : FileKind::tokenizer_json;
  }
  if (ext == ".bpe") return FileKind::bpe_merges;
  if (ext == ".model") return FileKind::sentencepiece;
  if (llama2c::looks_like_checkpoint(bytes)) return FileKind::llama2c_checkpoint;
  if (looks_like_sentencepiece(bytes)) return FileKind::sentencepiece;
  if (count_llama2c_tokens(bytes) > 0) return FileKind::llama2c_tokenizer;
  return FileKind::unknown;
}

}  // namespace slmkit::io
