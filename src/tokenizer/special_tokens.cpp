#include "tokenizer/special_tokens.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace slmkit::tok {

void SpecialTokenMatcher::build(const std::vector<std::string>& texts,
                                const std::vector<bool>& always,
                                const std::vector<bool>& on_parse) {
  const size_t n = texts.size();
  always_ = always;
  on_parse_ = on_parse;
  order_.assign(n, 0);
  length_.assign(n, 0);
  nodes_.assign(1, Node{});
  terminal_ids_.clear();
  n_always_ = n_on_parse_ = 0;
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);

  std::vector<int32_t> ids;
  for (size_t i = 0; i < n; ++i) {
    if (on_parse[i] && !texts[i].empty()) ids.push_back(static_cast<int32_t>(i));
  }
  // llama.cpp sorts by length only (unstable); ties between different texts of one length only
  // matter when they overlap, and then the lower id goes first here.
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int32_t a, int32_t b) { return texts[a].size() > texts[b].size(); });
  for (size_t rank = 0; rank < ids.size(); ++rank) {
    order_[ids[rank]] = static_cast<uint32_t>(rank);
    length_[ids[rank]] = static_cast<uint32_t>(texts[ids[rank]].size());
    if (always[ids[rank]]) ++n_always_;
    ++n_on_parse_;
  }

  // Trie over the texts; terminal ids are grouped per node afterwards.
  std::vector<std::pair<int32_t, int32_t>> ends;  // (node, token)
  edges_ = PairMap{};
  edges_.reserve(ids.size() * 8);
  for (int32_t id : ids) {
    int32_t node = 0;
    for (char ch : texts[id]) {
      const auto c = static_cast<unsigned char>(ch);
      const PairMap::Entry* e = edges_.find(node, c);
      if (e) {
        node = e->result;
      } else {
        const auto child = static_cast<int32_t>(nodes_.size());
        nodes_.push_back(Node{});
        edges_.insert(node, c, {0, child});
        node = child;
      }
    }
    ends.emplace_back(node, id);
    first_byte_[static_cast<unsigned char>(texts[id][0])] = true;
  }
  std::sort(ends.begin(), ends.end());
  for (const auto& [node, id] : ends) {
    Node& nd = nodes_[node];
    if (nd.n_tokens == 0) nd.first_token = static_cast<int32_t>(terminal_ids_.size());
    ++nd.n_tokens;
    terminal_ids_.push_back(id);
  }
}

void SpecialTokenMatcher::partition(std::string_view text, bool parse_special,
                                    std::vector<Fragment>& out) const {
  out.clear();
  const auto n = static_cast<uint32_t>(text.size());
  if (n == 0) return;
  if (!active(parse_special)) {
    out.push_back({0, n, -1});
    return;
  }
  struct Occurrence {
    uint32_t order;
    uint32_t pos;
    int32_t token;
  };
  std::vector<Occurrence> found;
  for (uint32_t p = 0; p < n; ++p) {
    if (!first_byte_[static_cast<unsigned char>(text[p])]) continue;
    int32_t node = 0;
    for (uint32_t q = p; q < n; ++q) {
      const PairMap::Entry* e = edges_.find(node, static_cast<unsigned char>(text[q]));
      if (!e) break;
      node = e->result;
      const Node& nd = nodes_[node];
      for (int32_t k = 0; k < nd.n_tokens; ++k) {
        const int32_t id = terminal_ids_[nd.first_token + k];
        if (parse_special ? on_parse_[id] : always_[id]) found.push_back({order_[id], p, id});
      }
    }
  }
  if (found.empty()) {
    out.push_back({0, n, -1});
    return;
  }
  // Longest tokens claim text first; each token's occurrences go left to right.
  std::sort(found.begin(), found.end(), [](const Occurrence& a, const Occurrence& b) {
    return a.order != b.order ? a.order < b.order : a.pos < b.pos;
  });
  std::map<uint32_t, std::pair<uint32_t, int32_t>> claimed;  // start -> (end, token)
  for (const Occurrence& o : found) {
    const uint32_t end = o.pos + length_[o.token];
    auto it = claimed.lower_bound(o.pos);
    if (it != claimed.end() && it->first < end) continue;
    if (it != claimed.begin() && std::prev(it)->second.first > o.pos) continue;
    claimed.emplace_hint(it, o.pos, std::make_pair(end, o.token));
  }
  uint32_t cursor = 0;
  for (const auto& [start, span] : claimed) {
    if (start > cursor) out.push_back({cursor, start - cursor, -1});
    out.push_back({start, span.first - start, span.second});
    cursor = span.first;
  }
  if (cursor < n) out.push_back({cursor, n - cursor, -1});
}

}  // namespace slmkit::tok
