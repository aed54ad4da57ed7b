// llama2.c checkpoints (Karpathy): the legacy format, a header of 7 int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate
// classifier follows), then f32 tensors stacked over layers; and its tokenizer.bin.
// Also the "version 1" export (export.py version1_export): uint32 magic 0x616b3432 ("ak42"),
// int32 version 1, the same 7 int32, a uint8 shared-classifier flag, zeros up to byte 256, then
// the f32 tensors in another order and without the RoPE tables.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "slmkit/model.h"
#include "slmkit/vocab.h"

namespace slmkit::llama2c {

inline constexpr uint32_t kMagicV1 = 0x616b3432;  // "ak42"

struct Header {
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;  // absolute value
  int32_t seq_len = 0;
  bool shared_classifier = true;
  int32_t version = 0;         // 0: legacy (no magic), 1: "ak42" version 1
  uint64_t header_bytes = 28;  // where the tensors start: 28 (legacy) or 256 (version 1)

  int64_t head_dim() const { return dim / n_heads; }
  int64_t kv_dim() const { return head_dim() * n_kv_heads; }
  // The exact size of a file with this header (tensors and, for legacy files, RoPE tables).
  uint64_t file_bytes() const;
};

// Reads and sanity-checks the header: every value positive and bounded (dim <= 65,536,
// hidden_dim <= 262,144, n_layers <= 1,024, vocab and seq_len <= 4,194,304), heads divide dim
// into an even head size, kv heads divide heads. Does not look at the file size. Version 2
// (llama2.c's int8 export) and unknown versions are Error(unsupported).
Header parse_header(std::span<const std::byte> bytes, const std::string& path);

// Checks the header's values for sanity and the file size against the exact byte count they
// imply (trailing bytes are an error too). Returns a Model named with slmkit's tensor names,
// arch "llama", RoPE style normal; the vocab is left empty. Tensors are views into `bytes` kept
// alive by `owner`; they are added in the order llama.cpp's convert-llama2c-to-ggml writes them
// (token_embd, output_norm, output, then per layer attn_q/k/v/output, attn_norm, ffn_gate/down/up,
// ffn_norm). The RoPE tables of legacy files are checked for size and skipped.
Model parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner);
Model read_file(const std::filesystem::path& path);
bool looks_like_checkpoint(std::span<const std::byte> bytes);  // plausible header + exact size

// tokenizer.bin: int32 max_token_length, then per token: f32 score, int32 length, bytes.
// Tokens are converted to GGUF's SentencePiece spelling ("▁" for spaces, "<0xNN>" bytes) with
// token types, so the result equals the vocab llama.cpp's converter embeds in a GGUF.
// `vocab_size` > 0: exactly that many tokens and nothing after them; <= 0: every token the file
// holds (for reading a tokenizer.bin without its model).
Vocab parse_tokenizer(std::span<const std::byte> bytes, int64_t vocab_size, std::string path);
Vocab read_tokenizer(const std::filesystem::path& path, int64_t vocab_size);

}  // namespace slmkit::llama2c
