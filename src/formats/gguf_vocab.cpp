// tokenizer.ggml.* <-> Vocab. Keys and value types follow gguf-py (gguf_writer.py, constants.py),
// which llama.cpp's converters use: strings for model/pre/chat template, arrays of string for
// tokens and merges, f32 scores, i32 token types, u32 special ids and bools for add_*.
#include "formats/gguf_vocab.h"

#include <limits>

#include "core/fail.h"

namespace slmkit::gguf {
namespace {

constexpr std::string_view kModel = "tokenizer.ggml.model";
constexpr std::string_view kPre = "tokenizer.ggml.pre";
constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kScores = "tokenizer.ggml.scores";
constexpr std::string_view kTokenType = "tokenizer.ggml.token_type";
constexpr std::string_view kMerges = "tokenizer.ggml.merges";
constexpr std::string_view kBos = "tokenizer.ggml.bos_token_id";
constexpr std::string_view kEos = "tokenizer.ggml.eos_token_id";
constexpr std::string_view kUnk = "tokenizer.ggml.unknown_token_id";
constexpr std::string_view kPad = "tokenizer.ggml.padding_token_id";
constexpr std::string_view kEot = "tokenizer.ggml.eot_token_id";
constexpr std::string_view kAddBos = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kAddEos = "tokenizer.ggml.add_eos_token";
constexpr std::string_view kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
constexpr std::string_view kChatTemplate = "tokenizer.chat_template";

constexpr auto kMaxTokenType = static_cast<int64_t>(TokenType::byte);

const Array* find_array(const File& file, std::string_view key, ValueType element) {
  const Value* v = file.find(key);
  if (!v) return nullptr;
  const Array& a = v->as_array(key);
  if (a.type != element) {
    fail_invalid("{}: key '{}': expected an array of {}, found an array of {}", file.path, key,
                 value_type_name(element), value_type_name(a.type));
  }
  return &a;
}

std::vector<std::string> read_strings(const File& file, std::string_view key) {
  std::vector<std::string> out;
  if (const Array* a = find_array(file, key, ValueType::string)) {
    out.reserve(a->items.size());
    for (const Value& item : a->items) out.push_back(std::get<std::string>(item.v));
  }
  return out;
}

void check_length(const File& file, std::string_view key, size_t n, size_t n_tokens) {
  if (n != n_tokens) {
    fail_invalid("{}: key '{}' has {} entries, expected one per token ({})", file.path, key, n,
                 n_tokens);
  }
}

// llama.cpp stores special ids as u32; gguf-py's converters have written "none" as 0xFFFFFFFF
// (and some tools as i32 -1), so both read as absent. Any other id must name a token.
int32_t read_token_id(const File& file, std::string_view key, size_t n_tokens) {
  const Value* v = file.find(key);
  if (!v) return -1;
  const int64_t id = v->as_i64(key);
  if (id == -1 || id == std::numeric_limits<uint32_t>::max()) return -1;
  if (id < 0 || static_cast<uint64_t>(id) >= n_tokens) {
    fail_invalid("{}: key '{}': token id {} is outside the vocabulary of {} tokens", file.path, key,
                 id, n_tokens);
  }
  return static_cast<int32_t>(id);
}

std::optional<bool> read_flag(const File& file, std::string_view key) {
  const Value* v = file.find(key);
  if (!v) return std::nullopt;
  return v->as_bool(key);
}

std::string read_string(const File& file, std::string_view key) {
  const Value* v = file.find(key);
  return v ? v->as_string(key) : std::string();
}

template <typename T>
Value array_of(ValueType type, const std::vector<T>& items) {
  Array a;
  a.type = type;
  a.items.reserve(items.size());
  for (const T& item : items) a.items.push_back(Value{item});
  return Value{std::move(a)};
}

void check_id(const Vocab& vocab, std::string_view what, int32_t id) {
  if (id < -1 || (id >= 0 && static_cast<size_t>(id) >= vocab.size())) {
    fail_invalid("write_vocab: {} {} is outside the vocabulary of {} tokens", what, id,
                 vocab.size());
  }
}

Vocab read_vocab_unchecked(const File& file) {
  Vocab vocab;
  const Value* model = file.find(kModel);
  if (!model) return vocab;
  vocab.model = model->as_string(kModel);
  vocab.pre = read_string(file, kPre);
  vocab.source = "GGUF";
  vocab.tokens = read_strings(file, kTokens);
  const size_t n = vocab.tokens.size();

  if (const Value* v = file.find(kScores)) {
    // llama.cpp also accepts i32 scores; they read as floats.
    const Array& a = v->as_array(kScores);
    if (a.type != ValueType::f32 && a.type != ValueType::i32) {
      fail_invalid("{}: key '{}': expected an array of f32, found an array of {}", file.path,
                   kScores, value_type_name(a.type));
    }
    check_length(file, kScores, a.items.size(), n);
    vocab.scores.reserve(n);
    for (const Value& item : a.items)
      vocab.scores.push_back(static_cast<float>(item.as_f64(kScores)));
  }
  if (const Array* a = find_array(file, kTokenType, ValueType::i32)) {
    check_length(file, kTokenType, a->items.size(), n);
    vocab.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const int32_t t = std::get<int32_t>(a->items[i].v);
      if (t < 0 || t > kMaxTokenType) {
        fail_invalid("{}: key '{}': token {} has type {}, expected 0-{}", file.path, kTokenType, i,
                     t, kMaxTokenType);
      }
      vocab.types.push_back(static_cast<TokenType>(t));
    }
  }
  vocab.merges = read_strings(file, kMerges);
  vocab.bos_id = read_token_id(file, kBos, n);
  vocab.eos_id = read_token_id(file, kEos, n);
  vocab.unk_id = read_token_id(file, kUnk, n);
  vocab.pad_id = read_token_id(file, kPad, n);
  vocab.eot_id = read_token_id(file, kEot, n);
  vocab.add_bos = read_flag(file, kAddBos);
  vocab.add_eos = read_flag(file, kAddEos);
  vocab.add_space_prefix = read_flag(file, kAddSpacePrefix);
  vocab.chat_template = read_string(file, kChatTemplate);
  return vocab;
}

}  // namespace

Vocab read_vocab(const File& file) {
  try {
    return read_vocab_unchecked(file);
  } catch (const Error& e) {
    // Value's accessors know the key but not the file.
    const std::string_view what = e.what();
    if (what.starts_with(file.path + ":")) throw;
    throw Error(e.kind(), fmt::format("{}: {}", file.path, what));
  }
}

void write_vocab(const Vocab& vocab, Writer& writer) {
  if (!vocab.scores.empty() && vocab.scores.size() != vocab.size()) {
    fail_invalid("write_vocab: {} scores for {} tokens", vocab.scores.size(), vocab.size());
  }
  if (!vocab.types.empty() && vocab.types.size() != vocab.size()) {
    fail_invalid("write_vocab: {} token types for {} tokens", vocab.types.size(), vocab.size());
  }
  check_id(vocab, "bos id", vocab.bos_id);
  check_id(vocab, "eos id", vocab.eos_id);
  check_id(vocab, "unk id", vocab.unk_id);
  check_id(vocab, "pad id", vocab.pad_id);
  check_id(vocab, "eot id", vocab.eot_id);

  // The keys below describe exactly this vocabulary: stale ones from an earlier vocabulary go, and
  // empty strings and arrays are left out as gguf-py's add_string/add_array leave them out.
  auto put = [&](std::string_view key, bool present, auto make) {
    if (present) {
      writer.set(std::string(key), make());
    } else {
      writer.remove(key);
    }
  };
  put(kModel, !vocab.model.empty(), [&] { return Value{vocab.model}; });
  put(kPre, !vocab.pre.empty(), [&] { return Value{vocab.pre}; });
  put(kTokens, !vocab.tokens.empty(), [&] { return array_of(ValueType::string, vocab.tokens); });
  put(kScores, !vocab.scores.empty(), [&] { return array_of(ValueType::f32, vocab.scores); });
  put(kTokenType, !vocab.types.empty(), [&] {
    std::vector<int32_t> types;
    types.reserve(vocab.types.size());
    for (TokenType t : vocab.types) types.push_back(static_cast<int32_t>(t));
    return array_of(ValueType::i32, types);
  });
  // A BPE vocabulary always carries the key (llama.cpp requires it), even with no merges: a
  // byte-level vocabulary of single-byte tokens needs none.
  put(kMerges, vocab.model == "gpt2" || vocab.model == "gemma4" || !vocab.merges.empty(),
      [&] { return array_of(ValueType::string, vocab.merges); });
  auto put_id = [&](std::string_view key, int32_t id) {
    put(key, id >= 0, [&] { return Value{static_cast<uint32_t>(id)}; });
  };
  put_id(kBos, vocab.bos_id);
  put_id(kEos, vocab.eos_id);
  put_id(kUnk, vocab.unk_id);
  put_id(kPad, vocab.pad_id);
  put_id(kEot, vocab.eot_id);
  auto put_flag = [&](std::string_view key, std::optional<bool> flag) {
    put(key, flag.has_value(), [&] { return Value{flag.value_or(false)}; });
  };
  put_flag(kAddBos, vocab.add_bos);
  put_flag(kAddEos, vocab.add_eos);
  put_flag(kAddSpacePrefix, vocab.add_space_prefix);
  put(kChatTemplate, !vocab.chat_template.empty(), [&] { return Value{vocab.chat_template}; });
}

}  // namespace slmkit::gguf
