// Splits text around special-token texts before the encoder sees it. Same outcome as
// llama.cpp's tokenizer_st_partition: tokens are taken longest first, each claiming its
// leftmost non-overlapping occurrences in text no longer token took; control and unknown tokens
// only when parse_special is set, user-defined tokens always. Found in one pass with a trie
// instead of one search of the whole text per token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_map.h"

namespace slmkit::tok {

struct Fragment {
  uint32_t offset = 0;
  uint32_t length = 0;
  int32_t token = -1;  // >= 0: a special token; otherwise raw text [offset, offset + length)
};

class SpecialTokenMatcher {
 public:
  // `always[i]`: matched even without parse_special (user-defined); `on_parse[i]`: matched with
  // parse_special (control, unknown, user-defined).
  void build(const std::vector<std::string>& texts, const std::vector<bool>& always,
             const std::vector<bool>& on_parse);

  bool active(bool parse_special) const { return parse_special ? n_on_parse_ > 0 : n_always_ > 0; }

  // Replaces `out` with the fragments of `text`, in order.
  void partition(std::string_view text, bool parse_special, std::vector<Fragment>& out) const;

 private:
  struct Node {
    int32_t first_token = -1;  // index into terminal_ids_ of the tokens ending here
    int32_t n_tokens = 0;
  };
  std::vector<Node> nodes_;            // node 0 is the root
  PairMap edges_;                      // (node, byte) -> child node (in Entry::result)
  std::vector<int32_t> terminal_ids_;  // token ids, grouped by node
  std::vector<uint32_t> order_;        // token id -> rank in longest-first order
  std::vector<uint32_t> length_;       // token id -> text length
  std::vector<bool> always_;
  std::vector<bool> on_parse_;
  bool first_byte_[256] = {};
  size_t n_always_ = 0;
  size_t n_on_parse_ = 0;
};

}  // namespace slmkit::tok
