#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "core/fail.h"

namespace slmkit::tok {

namespace {

// The regexes as the families' tokenizer.json files state them (Hugging Face runs them with
// Oniguruma; PCRE2 with UCP gives the same classes). Where llama.cpp rewrote a pattern for
// std::regex (case-insensitive groups, a missing trailing "|\s+" handled by custom code) the
// original is used, since PCRE2 runs it as written.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen35 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-"
    "\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1"
    "\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd"
    "\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d"
    "\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-"
    "\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4"
    "\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d"
    "\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4"
    "\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e"
    "\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f"
    "\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2"
    "\U000118a0-\U000118df\U0001e900-\U0001e943]+";
constexpr const char* kCjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

enum class Family {
  default_,
  llama3,
  deepseek_llm,
  deepseek_coder,
  falcon,
  starcoder,
  gpt2,
  qwen2,
  qwen35,
  poro,
  chatglm4,
  viking,
  tekken,
  gpt4o,
  seed_coder,
  gemma4,
};

struct NameRow {
  const char* name;
  Family family;
};

// tokenizer.ggml.pre values and the family of regexes llama.cpp gives each.
constexpr NameRow kNames[] = {
    {"default", Family::default_},
    {"llama3", Family::llama3},
    {"llama-v3", Family::llama3},
    {"llama-bpe", Family::llama3},
    {"falcon3", Family::llama3},
    {"falcon-h1", Family::llama3},
    {"pixtral", Family::llama3},
    {"midm-2.0", Family::llama3},
    {"lfm2", Family::llama3},
    {"dbrx", Family::llama3},
    {"smaug-bpe", Family::llama3},
    {"deepseek-llm", Family::deepseek_llm},
    {"deepseek-coder", Family::deepseek_coder},
    {"falcon", Family::falcon},
    {"mpt", Family::gpt2},
    {"gpt-2", Family::gpt2},
    {"phi-2", Family::gpt2},
    {"jina-es", Family::gpt2},
    {"jina-de", Family::gpt2},
    {"gigachat", Family::gpt2},
    {"jina-v2-es", Family::gpt2},
    {"jina-v2-de", Family::gpt2},
    {"jina-v1-en", Family::gpt2},
    {"jina-v2-code", Family::gpt2},
    {"roberta-bpe", Family::gpt2},
    {"olmo", Family::gpt2},
    {"jais", Family::gpt2},
    {"trillion", Family::gpt2},
    {"granite-docling", Family::gpt2},
    {"exaone4", Family::gpt2},
    {"starcoder", Family::starcoder},
    {"refact", Family::starcoder},
    {"command-r", Family::starcoder},
    {"smollm", Family::starcoder},
    {"codeshell", Family::starcoder},
    {"exaone", Family::starcoder},
    {"minerva-7b", Family::starcoder},
    {"qwen2", Family::qwen2},
    {"deepseek-r1-qwen", Family::qwen2},
    {"stablelm2", Family::qwen2},
    {"megrez", Family::qwen2},
    {"hunyuan", Family::qwen2},
    {"qwen35", Family::qwen35},
    {"poro-chat", Family::poro},
    {"bloom", Family::poro},
    {"gpt3-finnish", Family::poro},
    {"chatglm-bpe", Family::chatglm4},
    {"glm4", Family::chatglm4},
    {"viking", Family::viking},
    {"tekken", Family::tekken},
    {"gpt-4o", Family::gpt4o},
    {"llama4", Family::gpt4o},
    {"seed-coder", Family::seed_coder},
    {"gemma4", Family::gemma4},
};

PreTokenizerSpec spec_for(Family family) {
  PreTokenizerSpec s;
  switch (family) {
    case Family::default_:
      s.regexes = {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"};
      break;
    case Family::llama3:
      s.regexes = {kLlama3};
      s.ignore_merges = true;
      s.add_bos = true;
      break;
    case Family::deepseek_llm:
      s.regexes = {"[\r\n]",
                   kDeepseekLlmLetters,
                   "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
                   R"(\s+$)",
                   kCjk,
                   R"(\p{N}+)"};
      break;
    case Family::deepseek_coder:
      s.regexes = {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"};
      break;
    case Family::falcon:
      s.regexes = {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"};
      break;
    case Family::starcoder:
      s.regexes = {R"(\p{N})", kGpt2};
      break;
    case Family::gpt2:
      s.regexes = {kGpt2};
      break;
    case Family::qwen2:
      s.regexes = {kQwen2};
      break;
    case Family::qwen35:
      s.regexes = {kQwen35};
      break;
    case Family::poro:
      s.regexes = {" ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+"};
      break;
    case Family::chatglm4:
      s.regexes = {kLlama3};
      break;
    case Family::viking:
      s.regexes = {" ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+", R"(\p{N})"};
      break;
    case Family::tekken:
      s.regexes = {kTekken};
      s.ignore_merges = true;
      s.add_bos = true;
      break;
    case Family::gpt4o:
      s.regexes = {kGpt4o};
      break;
    case Family::seed_coder:
      s.regexes = {
          R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"};
      break;
    case Family::gemma4:
      // Spaces are "▁" after normalization; merges run over whole lines.
      s.regexes = {R"([^\n]+|[\n]+)"};
      s.byte_level = false;
      s.escape_whitespace = true;
      break;
  }
  return s;
}

}  // namespace

PreTokenizerSpec pre_tokenizer_spec(std::string_view pre) {
  if (pre.empty()) pre = "default";
  for (const NameRow& row : kNames) {
    if (pre == row.name) {
      PreTokenizerSpec s = spec_for(row.family);
      s.name = row.name;
      return s;
    }
  }
  std::string names;
  for (const std::string& n : supported_pre_tokenizers()) names += (names.empty() ? "" : ", ") + n;
  fail_unsupported("pre-tokenizer '{}' is not supported; supported: {}", pre, names);
}

std::vector<std::string> supported_pre_tokenizers() {
  std::vector<std::string> names;
  for (const NameRow& row : kNames) names.emplace_back(row.name);
  return names;
}

std::string pre_name_for_regex(std::string_view pattern) {
  if (pattern == kLlama3) return "llama-bpe";
  if (pattern == kQwen2) return "qwen2";
  if (pattern == kQwen35) return "qwen35";
  if (pattern == kGpt2) return "gpt-2";
  if (pattern == kGpt4o) return "gpt-4o";
  if (pattern == kTekken) return "tekken";
  return "";
}

// ---------------------------------------------------------------------------------------------

struct RegexSplitter::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Compiled() {
    if (code) pcre2_code_free(code);
  }
};

RegexSplitter::RegexSplitter(const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    auto c = std::make_unique<Compiled>();
    c->code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error, &error_offset, nullptr);
    if (!c->code) {
      PCRE2_UCHAR buffer[256];
      pcre2_get_error_message(error, buffer, sizeof(buffer));
      fail(ErrorKind::internal, "pre-tokenizer regex '{}' does not compile at offset {}: {}", p,
           error_offset, reinterpret_cast<const char*>(buffer));
    }
    c->jit = pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE) == 0;
    levels_.push_back(std::move(c));
  }
}

RegexSplitter::~RegexSplitter() = default;

void RegexSplitter::split(std::string_view text, std::vector<Piece>& out) const {
  if (text.empty()) return;
  if (levels_.empty()) {
    out.push_back({0, static_cast<uint32_t>(text.size())});
    return;
  }
  // One capture pair is enough: only the whole match is used (rc 0 still means a match).
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  if (!md) fail(ErrorKind::internal, "out of memory creating PCRE2 match data");
  try {
    split_level(0, text.data(), 0, text.size(), md, out);
  } catch (...) {
    pcre2_match_data_free(md);
    throw;
  }
  pcre2_match_data_free(md);
}

void RegexSplitter::split_level(size_t level, const char* base, size_t offset, size_t length,
                                void* match_data, std::vector<Piece>& out) const {
  if (level == levels_.size()) {
    out.push_back({static_cast<uint32_t>(offset), static_cast<uint32_t>(length)});
    return;
  }
  auto* md = static_cast<pcre2_match_data*>(match_data);
  const Compiled& c = *levels_[level];
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(base + offset);
  size_t start = 0;    // where the next search begins
  size_t emitted = 0;  // end of the last piece handed on
  while (start < length) {
    int rc = c.jit
                 ? pcre2_jit_match(c.code, subject, length, start, PCRE2_NO_UTF_CHECK, md, nullptr)
                 : -1;
    if (!c.jit || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // The interpreter keeps its backtracking state on the heap: slower, but no stack limit.
      rc = pcre2_match(c.code, subject, length, start, PCRE2_NO_UTF_CHECK, md, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR buffer[256];
      pcre2_get_error_message(rc, buffer, sizeof(buffer));
      fail(ErrorKind::internal, "pre-tokenizer regex failed at byte {}: {}", offset + start,
           reinterpret_cast<const char*>(buffer));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t m_begin = ov[0];
    const size_t m_end = ov[1];
    if (m_end == m_begin) {
      // An empty match splits nothing; step over one character and search again.
      size_t next = m_begin + 1;
      while (next < length && (subject[next] & 0xC0) == 0x80) ++next;
      start = next;
      continue;
    }
    if (m_begin > emitted) {
      split_level(level + 1, base, offset + emitted, m_begin - emitted, match_data, out);
    }
    split_level(level + 1, base, offset + m_begin, m_end - m_begin, match_data, out);
    emitted = m_end;
    start = m_end;
  }
  if (emitted < length) {
    split_level(level + 1, base, offset + emitted, length - emitted, match_data, out);
  }
}

}  // namespace slmkit::tok
