// llama2.c checkpoints (Karpathy): the legacy format, a header of 7 int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate
// classifier follows), then f32 tensors stacked over layers; and its tokenizer.bin.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "slmkit/model.h"
#include "slmkit/vocab.h"

namespace slmkit::llama2c {

struct Header {
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;  // absolute value
  int32_t seq_len = 0;
  bool shared_classifier = true;
};

// Checks the header's values for sanity and the file size against the exact byte count they
// imply (trailing bytes are an error too). Returns a Model named with slmkit's tensor names,
// arch "llama", RoPE style normal; the vocab is left empty.
Model parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner);
Model read_file(const std::filesystem::path& path);
bool looks_like_checkpoint(std::span<const std::byte> bytes);  // plausible header + exact size

// tokenizer.bin: int32 max_token_length, then per token: f32 score, int32 length, bytes.
// Tokens are converted to GGUF's SentencePiece spelling ("▁" for spaces, "<0xNN>" bytes) with
// token types, so the result equals the vocab llama.cpp's converter embeds in a GGUF.
Vocab parse_tokenizer(std::span<const std::byte> bytes, int64_t vocab_size, std::string path);
Vocab read_tokenizer(const std::filesystem::path& path, int64_t vocab_size);

}  // namespace slmkit::llama2c
