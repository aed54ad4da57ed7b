#include "tokenizer/spm.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace slmkit::tok {

SpmModel::SpmModel(const Vocab& vocab)
    : n_vocab_(static_cast<int32_t>(vocab.tokens.size())), unk_id_(vocab.unk_id) {
  ids_.reserve(vocab.tokens.size());
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    if (!vocab.tokens[i].empty()) ids_.insert(vocab.tokens[i], static_cast<int32_t>(i));
  }
  scores_.assign(vocab.tokens.size(), 0.0f);
  if (vocab.scores.size() >= vocab.tokens.size()) {
    std::copy_n(vocab.scores.begin(), vocab.tokens.size(), scores_.begin());
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char hex[6] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    int32_t id = ids_.find(hex, 6);
    if (id < 0) {
      const char c = static_cast<char>(b);
      id = ids_.find(&c, 1);
    }
    byte_token_[b] = id;
  }
  if (unk_id_ >= n_vocab_) unk_id_ = -1;
  for (const std::string& t : vocab.tokens) segmenter_.learn(t);
  segmenter_.finish();
}

void SpmModel::encode(std::string_view text, std::vector<int32_t>& out) const {
  // Long texts repeat their words; short ones are not worth a cache.
  if (text.size() < 4096) {
    segmenter_.for_each(text, [&](std::string_view seg) { encode_segment(seg, out); });
    return;
  }
  WordCache cache;
  segmenter_.for_each(text, [&](std::string_view seg) {
    const uint64_t h = WordCache::hash(seg);
    if (cache.lookup(seg, h, out)) return;
    const size_t before = out.size();
    encode_segment(seg, out);
    cache.insert(seg, h, out.data() + before, out.size() - before);
  });
}

void SpmModel::encode_segment(std::string_view text, std::vector<int32_t>& out) const {
  struct Symbol {
    uint32_t start;
    uint32_t len;
    int32_t prev;
    int32_t next;
  };
  struct Bigram {
    float score;
    int32_t left;
    int32_t right;
    uint32_t size;  // bytes of the pair when queued; a merge on either side changes it
  };
  // Max-heap order: higher score first, then the leftmost pair.
  auto lower = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Bigram> heap;
  symbols.clear();
  heap.clear();
  const auto n = static_cast<uint32_t>(text.size());
  for (uint32_t i = 0; i < n;) {
    const auto len = static_cast<uint32_t>(
        std::min<size_t>(utf8_lead_len(static_cast<unsigned char>(text[i])), n - i));
    const auto idx = static_cast<int32_t>(symbols.size());
    symbols.push_back({i, len, idx - 1, idx + 1});
    i += len;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  auto try_pair = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    // Adjacent live symbols are contiguous, so the pair's text is one slice of the input.
    const Symbol& a = symbols[l];
    const uint32_t size = a.len + symbols[r].len;
    const int32_t id = ids_.find(text.data() + a.start, size);
    if (id < 0 || id >= n_vocab_) return;
    heap.push_back({scores_[id], l, r, size});
    std::push_heap(heap.begin(), heap.end(), lower);
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    try_pair(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), lower);
    const Bigram b = heap.back();
    heap.pop_back();
    Symbol& l = symbols[b.left];
    Symbol& r = symbols[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const int32_t id = ids_.find(text.data() + s.start, s.len);
    if (id >= 0 && id < n_vocab_) {
      out.push_back(id);
      continue;
    }
    // Only single characters can be unknown here (every merge formed a token): spell them in
    // bytes, or <unk> where the vocabulary has no token for a byte.
    for (uint32_t k = 0; k < s.len; ++k) {
      const int32_t byte_id = byte_token_[static_cast<unsigned char>(text[s.start + k])];
      if (byte_id >= 0) {
        out.push_back(byte_id);
      } else if (unk_id_ >= 0) {
        out.push_back(unk_id_);
      }
    }
  }
}

}  // namespace slmkit::tok
