// Two speed-ups that leave the ids unchanged:
// - SpaceSegmenter cuts "▁"-escaped text before a "▁" wherever no token could span the cut
//   (no token contains the preceding character followed by "▁"), so SentencePiece and Gemma's
//   BPE merge word by word instead of over a whole text or line in one huge heap.
// - WordCache remembers the ids of each distinct word during one encode call (text repeats
//   itself: WikiText's 1.3 MB holds ~30k distinct words).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/token_map.h"
#include "tokenizer/utf8.h"

namespace slmkit::tok {

class SpaceSegmenter {
 public:
  // Records which characters appear right before a "▁" inside `token`.
  void learn(std::string_view token) {
    uint32_t prev = 0;
    for (size_t i = 0; i < token.size();) {
      const size_t len =
          std::min(utf8_lead_len(static_cast<unsigned char>(token[i])), token.size() - i);
      const uint32_t c = pack(token.substr(i, len));
      if (i > 0 && c == kMeta && prev != kMeta) blocked_.push_back(prev);
      prev = c;
      i += len;
    }
  }
  void finish() {
    std::sort(blocked_.begin(), blocked_.end());
    blocked_.erase(std::unique(blocked_.begin(), blocked_.end()), blocked_.end());
  }

  // Calls fn(segment) for consecutive pieces of `text` that together cover it. Characters are
  // walked exactly as the encoders split them (by lead byte), so cuts fall on their boundaries.
  template <typename Fn>
  void for_each(std::string_view text, Fn&& fn) const {
    size_t start = 0;
    uint32_t prev = kMeta;
    for (size_t i = 0; i < text.size();) {
      const size_t len =
          std::min(utf8_lead_len(static_cast<unsigned char>(text[i])), text.size() - i);
      const uint32_t c = pack(text.substr(i, len));
      if (c == kMeta && prev != kMeta && i > start &&
          !std::binary_search(blocked_.begin(), blocked_.end(), prev)) {
        fn(text.substr(start, i - start));
        start = i;
      }
      prev = c;
      i += len;
    }
    if (start < text.size()) fn(text.substr(start));
  }

 private:
  static constexpr uint32_t kMeta = 0xE29681u;  // "▁" packed
  static uint32_t pack(std::string_view ch) {
    uint32_t v = 0;
    for (char c : ch) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
  }
  std::vector<uint32_t> blocked_;
};

// Word -> ids for the duration of one encode call; keys point into the caller's text.
class WordCache {
 public:
  // Appends the cached ids of `word` to `out`; false when the word is not cached.
  bool lookup(std::string_view word, uint64_t hash, std::vector<int32_t>& out) const {
    if (slots_.empty()) return false;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.word.data() == nullptr) return false;
      if (s.hash == hash && s.word == word) {
        out.insert(out.end(), ids_.begin() + s.first, ids_.begin() + s.first + s.count);
        return true;
      }
    }
  }

  void insert(std::string_view word, uint64_t hash, const int32_t* ids, size_t count) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t i = hash & mask_;
    while (slots_[i].word.data() != nullptr) i = (i + 1) & mask_;
    slots_[i] = {word, hash, ids_.size(), count};
    ids_.insert(ids_.end(), ids, ids + count);
    ++size_;
  }

  static uint64_t hash(std::string_view word) { return hash_bytes(word.data(), word.size()); }

 private:
  struct Slot {
    std::string_view word;
    uint64_t hash = 0;
    size_t first = 0;
    size_t count = 0;
  };
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.word.data() == nullptr) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].word.data() != nullptr) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::vector<int32_t> ids_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace slmkit::tok
