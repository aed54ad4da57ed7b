// Pre-tokenizers of byte-level BPE families: the regexes each family splits text with before
// merging (the facts come from llama.cpp's llama-vocab.cpp per tokenizer.ggml.pre name and
// from the families' tokenizer.json), run through PCRE2 with Unicode properties and JIT.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace slmkit::tok {

struct PreTokenizerSpec {
  std::string name;  // canonical tokenizer.ggml.pre value
  // Applied in order; each splits every piece the previous one produced into matches and the
  // gaps between them (Hugging Face's Split with behavior "Isolated").
  std::vector<std::string> regexes;
  bool byte_level = true;          // GPT-2 byte encoding; false: raw UTF-8 with <0xNN> fallback
  bool ignore_merges = false;      // a piece that is a whole token is taken as is (Llama 3)
  bool escape_whitespace = false;  // spaces become U+2581 before splitting (Gemma 4)
  bool add_bos = false;            // llama.cpp's BOS policy when the vocabulary states none
};

// The spec for a GGUF tokenizer.ggml.pre value (empty means "default"). Throws
// Error(unsupported) for an unknown name, listing the supported ones.
PreTokenizerSpec pre_tokenizer_spec(std::string_view pre);
std::vector<std::string> supported_pre_tokenizers();

// The pre name whose first regex is `pattern` as a tokenizer.json Split pre-tokenizer states it,
// or "" when no known family uses that pattern.
std::string pre_name_for_regex(std::string_view pattern);

// A piece of text: [offset, offset + length).
struct Piece {
  uint32_t offset;
  uint32_t length;
};

class RegexSplitter {
 public:
  // Compiles every pattern once (UTF + UCP, JIT where available). Throws Error(internal) when
  // PCRE2 rejects a pattern, quoting it and the offset of the error.
  explicit RegexSplitter(const std::vector<std::string>& patterns);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Appends the pieces of `text` (valid UTF-8) to `out`; together they cover it exactly, in
  // order, none empty. Safe to call from several threads at once.
  void split(std::string_view text, std::vector<Piece>& out) const;

 private:
  struct Compiled;
  void split_level(size_t level, const char* base, size_t offset, size_t length, void* match_data,
                   std::vector<Piece>& out) const;
  std::vector<std::unique_ptr<Compiled>> levels_;
};

}  // namespace slmkit::tok
