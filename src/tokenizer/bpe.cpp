#include "tokenizer/bpe.h"

#include <algorithm>
#include <climits>

#include "tokenizer/utf8.h"

namespace slmkit::tok {

namespace {
// Pieces up to this many symbols merge by rescanning a small array of cached pair ranks, which
// beats a heap on the short words that dominate real text; longer ones (Gemma's whole lines) use
// the heap.
constexpr size_t kNaiveMaxSymbols = 32;

constexpr char kHex[] = "0123456789ABCDEF";
}  // namespace

BpeModel::BpeModel(const Vocab& vocab, bool byte_level, bool ignore_merges)
    : byte_level_(byte_level),
      ignore_merges_(ignore_merges),
      n_vocab_(static_cast<int32_t>(vocab.tokens.size())) {
  ids_.reserve(vocab.tokens.size() + vocab.merges.size() / 8);
  std::string raw;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const std::string& text = vocab.tokens[i];
    if (text.empty()) continue;
    if (byte_level_) {
      // Added tokens are stored as plain text; those that are not valid byte-level strings
      // can never be formed by merging bytes, so they stay out of the table.
      raw.clear();
      if (!byte_level_decode(text, raw)) continue;
      ids_.insert(raw, static_cast<int32_t>(i));
    } else {
      ids_.insert(text, static_cast<int32_t>(i));
    }
  }

  int32_t next_extra = n_vocab_;
  auto id_of = [&](std::string_view s) {
    int32_t id = ids_.find(s);
    if (id < 0) {
      id = next_extra++;
      ids_.insert(s, id);
    }
    return id;
  };
  merges_.reserve(vocab.merges.size());
  std::string left;
  std::string right;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& m = vocab.merges[rank];
    const size_t pos = m.find(' ', 1);
    if (pos == std::string::npos) continue;  // llama.cpp pairs ("", ""), which never matches
    const std::string_view a(m.data(), pos);
    const std::string_view b(m.data() + pos + 1, m.size() - pos - 1);
    left.clear();
    right.clear();
    if (byte_level_) {
      if (!byte_level_decode(a, left) || !byte_level_decode(b, right)) continue;
    } else {
      left.assign(a);
      right.assign(b);
    }
    if (left.empty() || right.empty()) continue;
    const int32_t l = id_of(left);
    const int32_t r = id_of(right);
    const int32_t product = id_of(left + right);
    merges_.insert(l, r, {static_cast<int32_t>(rank), product});
    if (!byte_level_) segmenter_.learn(left + right);
  }
  segmenter_.finish();

  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    byte_symbol_[b] = ids_.find(&c, 1);
    if (b < 128) ascii_symbol_[b] = ids_.find(&c, 1);
    if (byte_level_) {
      // llama.cpp looks each byte of the stand-in text up as a one-byte token: only printable
      // ASCII, whose stand-in is itself, can match.
      const bool printable = b >= '!' && b <= '~';
      fallback_[b] =
          (printable && byte_symbol_[b] >= 0 && byte_symbol_[b] < n_vocab_) ? byte_symbol_[b] : -1;
    } else {
      const char hex[6] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
      const int32_t id = ids_.find(hex, 6);
      fallback_[b] = id < n_vocab_ ? id : -1;
    }
  }
}

void BpeModel::init_symbols(std::string_view piece, std::vector<Symbol>& symbols) const {
  symbols.clear();
  const auto n = static_cast<uint32_t>(piece.size());
  if (byte_level_) {
    for (uint32_t i = 0; i < n; ++i) {
      const int32_t idx = static_cast<int32_t>(i);
      symbols.push_back(
          {byte_symbol_[static_cast<unsigned char>(piece[i])], i, 1, idx - 1, idx + 1});
    }
  } else {
    uint32_t i = 0;
    while (i < n) {
      const auto c = static_cast<unsigned char>(piece[i]);
      const auto len = static_cast<uint32_t>(std::min<size_t>(utf8_lead_len(c), n - i));
      const int32_t id =
          (len == 1 && c < 128) ? ascii_symbol_[c] : ids_.find(piece.data() + i, len);
      const auto idx = static_cast<int32_t>(symbols.size());
      symbols.push_back({id, i, len, idx - 1, idx + 1});
      i += len;
    }
  }
  if (!symbols.empty()) symbols.back().next = -1;
}

void BpeModel::emit_fallback(std::string_view bytes, std::vector<int32_t>& out) const {
  for (char c : bytes) {
    const int32_t id = fallback_[static_cast<unsigned char>(c)];
    if (id >= 0) out.push_back(id);
  }
}

void BpeModel::emit(std::string_view piece, const std::vector<Symbol>& symbols,
                    std::vector<int32_t>& out) const {
  for (const Symbol& s : symbols) {
    if (s.len == 0) continue;
    if (s.id >= 0 && s.id < n_vocab_) {
      out.push_back(s.id);
    } else {
      emit_fallback(piece.substr(s.start, s.len), out);
    }
  }
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out,
                            WordCache* cache) const {
  if (piece.empty()) return;
  if (byte_level_) {
    encode_word(piece, out, cache);
    return;
  }
  if (piece.find_first_not_of('\n') == std::string_view::npos) {
    // Gemma 4 takes a run of newlines that is one token as is.
    const int32_t id = ids_.find(piece);
    if (id >= 0 && id < n_vocab_) {
      out.push_back(id);
      return;
    }
  }
  segmenter_.for_each(piece, [&](std::string_view word) { encode_word(word, out, cache); });
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out,
                           WordCache* cache) const {
  if (ignore_merges_) {
    // Llama 3 takes a piece that is a whole token as is.
    const int32_t id = ids_.find(word);
    if (id >= 0 && id < n_vocab_) {
      out.push_back(id);
      return;
    }
  }
  uint64_t hash = 0;
  if (cache) {
    hash = WordCache::hash(word);
    if (cache->lookup(word, hash, out)) return;
  }
  const size_t before = out.size();
  // Bytes bound the symbol count from above: cheap to pick the strategy.
  if (word.size() <= kNaiveMaxSymbols) {
    encode_piece_naive(word, out);
  } else {
    encode_piece_heap(word, out);
  }
  if (cache) cache->insert(word, hash, out.data() + before, out.size() - before);
}

void BpeModel::encode_piece_naive(std::string_view piece, std::vector<int32_t>& out) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<PairMap::Entry> pairs;  // pairs[i]: merge of symbols i and i+1
  init_symbols(piece, symbols);
  size_t n = symbols.size();
  if (n > 1) {
    pairs.resize(n - 1);
    auto lookup = [&](size_t i) {
      const PairMap::Entry* e = merges_.find(symbols[i].id, symbols[i + 1].id);
      pairs[i] = e ? *e : PairMap::Entry{INT_MAX, -1};
    };
    for (size_t i = 0; i + 1 < n; ++i) lookup(i);
    while (n > 1) {
      size_t best = 0;
      for (size_t i = 1; i + 1 < n; ++i) {
        if (pairs[i].rank < pairs[best].rank) best = i;
      }
      if (pairs[best].rank == INT_MAX) break;
      symbols[best].id = pairs[best].result;
      symbols[best].len += symbols[best + 1].len;
      symbols.erase(symbols.begin() + static_cast<ptrdiff_t>(best) + 1);
      pairs.erase(pairs.begin() + static_cast<ptrdiff_t>(best));
      --n;
      if (best + 1 < n) lookup(best);
      if (best > 0) lookup(best - 1);
    }
  }
  emit(piece, symbols, out);
}

void BpeModel::encode_piece_heap(std::string_view piece, std::vector<int32_t>& out) const {
  struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    int32_t result;
    uint32_t right_len;  // the right symbol's length when queued: it only grows, so a change
                         // (or a removed left symbol) marks the candidate stale
  };
  // std::*_heap build a max-heap: "less" means lower priority, i.e. higher rank, or the same
  // rank further right.
  auto lower = [](const Candidate& a, const Candidate& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  init_symbols(piece, symbols);
  heap.clear();
  auto push = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const PairMap::Entry* e = merges_.find(symbols[l].id, symbols[r].id);
    if (!e) return;
    heap.push_back({e->rank, l, r, e->result, symbols[r].len});
    std::push_heap(heap.begin(), heap.end(), lower);
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    push(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), lower);
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& l = symbols[c.left];
    Symbol& r = symbols[c.right];
    if (l.len == 0 || r.len == 0 || r.len != c.right_len || l.next != c.right) continue;
    l.id = c.result;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = c.left;
    push(l.prev, c.left);
    push(c.left, l.next);
  }
  emit(piece, symbols, out);
}

}  // namespace slmkit::tok
