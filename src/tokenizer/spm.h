// SentencePiece BPE as llama.cpp's llm_tokenizer_spm runs it: start from UTF-8 characters,
// repeatedly merge the adjacent pair whose concatenation is the highest-scoring token (the
// leftmost among equals), and spell what never became a token with <0xNN> byte tokens.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "slmkit/vocab.h"
#include "tokenizer/segments.h"
#include "tokenizer/token_map.h"

namespace slmkit::tok {

class SpmModel {
 public:
  explicit SpmModel(const Vocab& vocab);

  // `text` is already normalized: spaces replaced by U+2581 and the prefix space added.
  void encode(std::string_view text, std::vector<int32_t>& out) const;

  int32_t find(std::string_view text) const { return ids_.find(text); }

 private:
  void encode_segment(std::string_view text, std::vector<int32_t>& out) const;

  SpaceSegmenter segmenter_;
  StringIdMap ids_;
  std::vector<float> scores_;
  int32_t n_vocab_ = 0;
  int32_t unk_id_ = -1;
  std::array<int32_t, 256> byte_token_{};  // <0xNN>, else the byte as a one-character token
};

}  // namespace slmkit::tok
