// A tokenizer's vocabulary in the shape GGUF stores it (tokenizer.ggml.*), whatever file it came
// from. The tokenizer module builds encoders on top of it; the GGUF writer writes it unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace slmkit {

// llama.cpp's token attributes as stored in tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

struct Vocab {
  // tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (byte-level BPE), "bert", ...
  std::string model;
  // tokenizer.ggml.pre: the pre-tokenizer ("default", "llama-bpe", "qwen2", "gpt-2", ...).
  std::string pre;
  std::vector<std::string> tokens;
  std::vector<float> scores;        // empty when the source has none
  std::vector<TokenType> types;     // empty when the source has none
  std::vector<std::string> merges;  // "a b" pairs, BPE only
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  int32_t pad_id = -1;
  int32_t eot_id = -1;
  std::optional<bool> add_bos;
  std::optional<bool> add_eos;
  std::optional<bool> add_space_prefix;
  std::string chat_template;
  std::string source;  // where it was read from: "tokenizer.json", "GGUF", "tokenizer.model", ...

  bool empty() const { return tokens.empty(); }
  size_t size() const { return tokens.size(); }
};

}  // namespace slmkit
