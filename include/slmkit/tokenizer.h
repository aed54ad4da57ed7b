// Text <-> token ids for every vocabulary a model brings (byte-level BPE with each family's
// pre-tokenizer, SentencePiece BPE with byte fallback, llama2.c), matching llama.cpp / Hugging
// Face.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slmkit/vocab.h"

namespace slmkit {

class Tokenizer {
 public:
  // Throws Error(unsupported) for a tokenizer model or pre-tokenizer it does not know, naming
  // what is supported.
  explicit Tokenizer(Vocab vocab);
  // Any model (GGUF, Hugging Face folder, llama2.c checkpoint) or vocabulary file: tokenizer.json,
  // tokenizer.model, vocab.json (+ merges.txt beside it), llama2.c tokenizer.bin.
  static Tokenizer from_path(const std::filesystem::path& path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  const Vocab& vocab() const;
  size_t size() const;
  int32_t bos_id() const;
  int32_t eos_id() const;
  bool is_end_of_generation(int32_t id) const;

  // add_special: BOS/EOS as the model's policy says. parse_special: control/special token texts
  // inside `text` (e.g. "<|endoftext|>") become their ids instead of being tokenized as text.
  std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                              bool parse_special = false) const;
  // Ids out of range are an Error(invalid_input) naming the id.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  std::string token_bytes(int32_t id) const;  // what this one token decodes to, raw bytes

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of ids into text without ever emitting half a UTF-8 character.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  // The complete characters available so far. Control tokens (BOS, EOS, turn markers) add no
  // text; the first piece loses the space SentencePiece prefixed, as decode() does.
  std::string push(int32_t id);
  std::string flush();  // whatever remains (invalid bytes become U+FFFD)

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;
  bool first_ = true;
};

}  // namespace slmkit
