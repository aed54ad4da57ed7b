// Rank-based BPE over one pre-tokenized piece at a time: byte-level (GPT-2 family: symbols are
// raw bytes, looked up through their printable stand-ins) or on raw UTF-8 characters with
// <0xNN> byte fallback (Gemma 4). Same merge order as llama.cpp's llm_tokenizer_bpe: the
// lowest-ranked adjacent pair first, the leftmost among equals.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "slmkit/vocab.h"
#include "tokenizer/segments.h"
#include "tokenizer/token_map.h"

namespace slmkit::tok {

class BpeModel {
 public:
  // Builds the lookup tables from a vocabulary. Merges that name strings outside the vocabulary
  // still apply (as llama.cpp's string-keyed ranks do); their products get ids past the end of
  // the vocabulary and fall back to bytes if they survive.
  BpeModel(const Vocab& vocab, bool byte_level, bool ignore_merges);

  // Appends the ids of one piece (valid UTF-8; raw bytes when byte-level). `cache`, when given,
  // remembers words across the pieces of one encode call; its keys point into `piece`.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out,
                    WordCache* cache = nullptr) const;

  // Exposed so tests can check that both merge strategies agree.
  void encode_piece_naive(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_piece_heap(std::string_view piece, std::vector<int32_t>& out) const;

  size_t n_merges() const { return merges_.size(); }

 private:
  struct Symbol {
    int32_t id;
    uint32_t start;
    uint32_t len;
    int32_t prev;
    int32_t next;
  };
  void encode_word(std::string_view word, std::vector<int32_t>& out, WordCache* cache) const;
  void init_symbols(std::string_view piece, std::vector<Symbol>& symbols) const;
  void emit(std::string_view piece, const std::vector<Symbol>& symbols,
            std::vector<int32_t>& out) const;
  void emit_fallback(std::string_view bytes, std::vector<int32_t>& out) const;

  bool byte_level_;
  bool ignore_merges_;
  int32_t n_vocab_;
  StringIdMap ids_;  // raw bytes (byte-level) or UTF-8 text -> id; >= n_vocab_: merge-only
  PairMap merges_;
  SpaceSegmenter segmenter_;                 // UTF-8 mode: where a line may be cut into words
  std::array<int32_t, 256> byte_symbol_{};   // byte-level: id of the symbol for one raw byte
  std::array<int32_t, 128> ascii_symbol_{};  // UTF-8 mode: id of one ASCII character
  std::array<int32_t, 256> fallback_{};      // token for a byte that survives unmerged, or -1
};

}  // namespace slmkit::tok
