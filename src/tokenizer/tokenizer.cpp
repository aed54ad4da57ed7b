// Tokenizer: picks the encoder for a Vocab (SentencePiece or BPE with its pre-tokenizer), splits
// out special tokens, applies the BOS/EOS policy, and decodes; plus the streaming decoder.
#include "slmkit/tokenizer.h"

#include <climits>
#include <cstdint>

#include "core/fail.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm.h"
#include "tokenizer/token_attrs.h"
#include "tokenizer/utf8.h"

namespace slmkit {

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

void escape_spaces(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() + in.size() / 4);
  for (char c : in) {
    if (c == ' ') {
      out += kSpace;
    } else {
      out += c;
    }
  }
}

std::string unescape_spaces(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

// Byte-level text back to bytes; characters outside the byte table are kept as they are.
std::string byte_level_to_bytes(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = tok::utf8_valid_len(text, i);
    if (len == 0) len = 1;
    if (!tok::byte_level_decode(text.substr(i, len), out)) out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

struct Tokenizer::Impl {
  enum class Kind { spm, bpe };

  Vocab vocab;
  Kind kind = Kind::spm;
  tok::TokenAttrs attrs;
  std::vector<std::string> pieces;  // what each token decodes to, special tokens as their text
  tok::SpecialTokenMatcher specials;
  std::unique_ptr<tok::SpmModel> spm;
  std::unique_ptr<tok::BpeModel> bpe;
  std::unique_ptr<tok::RegexSplitter> splitter;
  tok::PreTokenizerSpec pre;
  bool add_space_prefix = false;
  bool add_bos = false;
  bool add_eos = false;

  explicit Impl(Vocab v);
  void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const;
  void check_id(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= vocab.tokens.size()) {
      fail_invalid("token id {} is out of range: the vocabulary ({}) has {} tokens", id,
                   vocab.source.empty() ? vocab.model : vocab.source, vocab.tokens.size());
    }
  }
};

Tokenizer::Impl::Impl(Vocab v) : vocab(std::move(v)) {
  const std::string where = vocab.source.empty() ? "vocabulary" : vocab.source;
  const size_t n = vocab.tokens.size();
  if (n == 0) {
    fail_invalid(
        "{}: no tokens: the model carries no vocabulary (a llama2.c checkpoint needs its "
        "tokenizer.bin or tok<vocab>.bin beside it, or pass --tokenizer)",
        where);
  }
  if (n > static_cast<size_t>(INT32_MAX)) fail_invalid("{}: {} tokens is too many", where, n);
  if (!vocab.scores.empty() && vocab.scores.size() < n) {
    fail_invalid("{}: {} scores for {} tokens", where, vocab.scores.size(), n);
  }
  if (!vocab.types.empty() && vocab.types.size() < n) {
    fail_invalid("{}: {} token types for {} tokens", where, vocab.types.size(), n);
  }
  auto in_range = [&](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n; };

  if (vocab.model == "llama") {
    kind = Kind::spm;
    // llama.cpp's defaults for SentencePiece vocabularies that do not say otherwise.
    if (vocab.bos_id < 0) vocab.bos_id = 1;
    if (vocab.eos_id < 0) vocab.eos_id = 2;
    if (vocab.unk_id < 0) vocab.unk_id = 0;
    add_bos = vocab.add_bos.value_or(true);
    add_eos = vocab.add_eos.value_or(false);
    add_space_prefix = vocab.add_space_prefix.value_or(true);
  } else if (vocab.model == "gpt2" || vocab.model == "gemma4") {
    kind = Kind::bpe;
    const bool gemma4 = vocab.model == "gemma4";
    pre = tok::pre_tokenizer_spec(gemma4 ? "gemma4" : vocab.pre);
    // Without merges only single-character tokens can ever be produced: right for a byte-level
    // vocabulary (slmkit synth's fallback), a lost merges list anywhere else.
    if (vocab.merges.empty()) {
      for (size_t i = 0; i < n; ++i) {
        const bool normal = vocab.types.empty() || vocab.types[i] == TokenType::normal;
        const std::string& t = vocab.tokens[i];
        if (normal && !t.empty() &&
            tok::utf8_lead_len(static_cast<unsigned char>(t[0])) < t.size()) {
          fail_invalid(
              "{}: BPE vocabulary ('{}') has no merges (tokenizer.ggml.merges), yet token {} "
              "'{}' spans several characters and could never be produced",
              where, vocab.model, i, t);
        }
      }
    }
    add_bos = vocab.add_bos.value_or(pre.add_bos) || gemma4;  // llama.cpp forces it for Gemma 4
    add_eos = vocab.add_eos.value_or(false);
  } else {
    fail_unsupported(
        "{}: tokenizer model '{}' is not supported; supported: llama (SentencePiece), "
        "gpt2 (byte-level BPE), gemma4 (BPE with byte fallback)",
        where, vocab.model);
  }
  for (int32_t* id : {&vocab.bos_id, &vocab.eos_id, &vocab.unk_id, &vocab.pad_id, &vocab.eot_id}) {
    if (!in_range(*id)) *id = -1;
  }

  attrs = tok::derive_token_attrs(vocab);

  if (kind == Kind::spm) {
    spm = std::make_unique<tok::SpmModel>(vocab);
  } else {
    bpe = std::make_unique<tok::BpeModel>(vocab, pre.byte_level, pre.ignore_merges);
    splitter = std::make_unique<tok::RegexSplitter>(pre.regexes);
  }

  std::vector<bool> always(n);
  std::vector<bool> on_parse(n);
  pieces.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint16_t a = attrs.attr[i];
    const std::string& text = vocab.tokens[i];
    on_parse[i] = (a & (tok::kAttrControl | tok::kAttrUserDefined | tok::kAttrUnknown)) != 0;
    always[i] = on_parse[i] && (a & (tok::kAttrControl | tok::kAttrUnknown)) == 0;
    if (a & (tok::kAttrControl | tok::kAttrUnknown | tok::kAttrUserDefined)) {
      pieces[i] = text;
    } else if (a & tok::kAttrNormal) {
      if (kind == Kind::spm || pre.escape_whitespace) {
        pieces[i] = unescape_spaces(text);
      } else {
        pieces[i] = byte_level_to_bytes(text);
      }
    } else if (a & tok::kAttrByte) {
      const int hi = text.size() == 6 ? hex_digit(text[3]) : -1;
      const int lo = text.size() == 6 ? hex_digit(text[4]) : -1;
      if (text.starts_with("<0x") && hi >= 0 && lo >= 0) {
        pieces[i] = std::string(1, static_cast<char>(hi * 16 + lo));
      } else {
        pieces[i] = text;
      }
    }
  }
  specials.build(vocab.tokens, always, on_parse);
}

void Tokenizer::Impl::encode_text(std::string_view text, bool after_special,
                                  std::vector<int32_t>& out) const {
  thread_local std::string scratch;
  thread_local std::string escaped;
  if (kind == Kind::spm) {
    // llama.cpp prefixes a space to text at the start and after every special token.
    scratch.clear();
    if (add_space_prefix && after_special) scratch += ' ';
    scratch.append(text);
    escape_spaces(scratch, escaped);
    spm->encode(escaped, out);
    return;
  }
  std::string_view s = text;
  if (!tok::utf8_is_valid(s)) {
    // Matches llama.cpp: each byte that starts no valid sequence reads as U+FFFD.
    scratch = tok::utf8_repair(s);
    s = scratch;
  }
  if (pre.escape_whitespace) {
    escape_spaces(s, escaped);
    s = escaped;
  }
  thread_local std::vector<tok::Piece> words;
  words.clear();
  splitter->split(s, words);
  if (s.size() < 4096) {
    for (const tok::Piece& w : words) bpe->encode_piece(s.substr(w.offset, w.length), out);
    return;
  }
  // Long texts repeat their words: remember each one's ids for the rest of this call.
  tok::WordCache cache;
  for (const tok::Piece& w : words) bpe->encode_piece(s.substr(w.offset, w.length), out, &cache);
}

Tokenizer::Tokenizer(Vocab vocab) : impl_(std::make_unique<Impl>(std::move(vocab))) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

const Vocab& Tokenizer::vocab() const {
  return impl_->vocab;
}
size_t Tokenizer::size() const {
  return impl_->vocab.tokens.size();
}
int32_t Tokenizer::bos_id() const {
  return impl_->vocab.bos_id;
}
int32_t Tokenizer::eos_id() const {
  return impl_->vocab.eos_id;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->attrs.eog.size() && impl_->attrs.eog[id];
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  const Impl& m = *impl_;
  if (text.size() > static_cast<size_t>(UINT32_MAX)) {
    fail_invalid("text of {} bytes is too long to tokenize (limit 4 GiB)", text.size());
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && m.add_bos && m.vocab.bos_id >= 0) out.push_back(m.vocab.bos_id);
  thread_local std::vector<tok::Fragment> fragments;
  m.specials.partition(text, parse_special, fragments);
  bool after_special = true;
  for (const tok::Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      m.encode_text(text.substr(f.offset, f.length), after_special, out);
      after_special = false;
    }
  }
  if (add_special && m.add_eos && m.vocab.eos_id >= 0) out.push_back(m.vocab.eos_id);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    m.check_id(id);
    const uint16_t a = m.attrs.attr[id];
    const bool special = (a & (tok::kAttrControl | tok::kAttrUnknown)) != 0;
    if (skip_special && special) continue;
    std::string_view piece = m.pieces[id];
    // The space SentencePiece prefixed on encoding is dropped from the first piece.
    if (first && m.add_space_prefix && !special && !piece.empty() && piece[0] == ' ') {
      piece.remove_prefix(1);
    }
    first = false;
    out.append(piece);
  }
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  impl_->check_id(id);
  return impl_->pieces[id];
}

// ---------------------------------------------------------------------------------------------

std::string StreamDecoder::push(int32_t id) {
  const Vocab& v = tokenizer_->vocab();
  if (id < 0 || static_cast<size_t>(id) >= v.tokens.size()) {
    fail_invalid("token id {} is out of range: the vocabulary has {} tokens", id, v.tokens.size());
  }
  // Control tokens (BOS, EOS, turn markers) are not text a reader should see.
  const bool control =
      !v.types.empty() && (v.types[id] == TokenType::control || v.types[id] == TokenType::unknown);
  if (!control) {
    const int32_t one[1] = {id};
    pending_ += first_ ? tokenizer_->decode(one, true) : tokenizer_->token_bytes(id);
    first_ = false;
  }
  // Emit everything up to the last character that might still be incomplete.
  size_t keep_from = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const auto c = static_cast<unsigned char>(pending_[pending_.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    if (c >= 0xC0 && tok::utf8_lead_len(c) > back) keep_from = pending_.size() - back;
    break;
  }
  std::string ready = tok::utf8_repair(std::string_view(pending_).substr(0, keep_from));
  pending_.erase(0, keep_from);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest = tok::utf8_repair(pending_);
  pending_.clear();
  return rest;
}

}  // namespace slmkit
