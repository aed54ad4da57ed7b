// Hugging Face tokenizer.json -> Vocab, shaped as llama.cpp's converter would write it: byte-level
// BPE becomes model "gpt2" with the pre-tokenizer named after its regex; SentencePiece-style BPE
// with byte fallback becomes "gemma4" (spaces -> U+2581, no prefix) or "llama" (with the
// "▁" prefix, scored so that SentencePiece merging follows the merge ranks).
#include <algorithm>
#include <unordered_map>

#include "core/fail.h"
#include "slmkit/files.h"
#include "tokenizer/hf_config.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {

namespace {

using nlohmann::json;

constexpr std::string_view kSpace = "\xE2\x96\x81";
// Ids may skip a few numbers (llama.cpp's converter fills holes with "[PAD<id>]"); more slack
// than this means a corrupt file, and the vocabulary is never sized from an unchecked id.
constexpr size_t kMaxIdSlack = 4096;

// The components of a normalizer or pre-tokenizer, with Sequences flattened.
void flatten(const json& j, const char* list_key, std::vector<const json*>& out) {
  if (!j.is_object()) return;
  if (j.value("type", "") == "Sequence") {
    auto it = j.find(list_key);
    if (it != j.end() && it->is_array()) {
      for (const json& c : *it) flatten(c, list_key, out);
    }
    return;
  }
  out.push_back(&j);
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// {"String": " "} or {"Regex": "..."}: the pattern text and whether it is a regex.
std::pair<std::string, bool> pattern_of(const json& j) {
  auto it = j.find("pattern");
  if (it == j.end() || !it->is_object()) return {"", false};
  if (it->contains("Regex")) return {string_field(*it, "Regex"), true};
  return {string_field(*it, "String"), false};
}

int32_t checked_id(const json& v, const std::string& path, std::string_view what,
                   std::string_view token, size_t limit) {
  if (!v.is_number_integer()) fail_invalid("{}: {} '{}': id is not an integer", path, what, token);
  const auto id = v.get<int64_t>();
  if (id < 0 || static_cast<uint64_t>(id) >= limit) {
    fail_invalid("{}: {} '{}': id {} is outside [0, {}) for {} entries", path, what, token, id,
                 limit, limit - kMaxIdSlack);
  }
  return static_cast<int32_t>(id);
}

}  // namespace

namespace {

// model.vocab and added_tokens: every id's token and type; ids nothing names become "[PADi]".
Vocab read_tokens(const json& root, const json& model, const json& vocab_json,
                  const std::string& path) {
  const json empty_array = json::array();
  const json& added = root.contains("added_tokens") && root["added_tokens"].is_array()
                          ? root["added_tokens"]
                          : empty_array;

  // Size the vocabulary from the largest id, bounded by how many entries there are.
  const size_t limit = vocab_json.size() + added.size() + kMaxIdSlack;
  size_t n = 0;
  for (const auto& [token, id] : vocab_json.items()) {
    n = std::max<size_t>(n, checked_id(id, path, "model.vocab", token, limit) + 1);
  }
  for (const json& a : added) {
    if (!a.is_object() || !a.contains("id"))
      fail_invalid("{}: added_tokens entry without id", path);
    n = std::max<size_t>(n, checked_id(a["id"], path, "added_tokens", "", limit) + 1);
  }

  Vocab vocab;
  vocab.source = path;
  vocab.tokens.resize(n);
  vocab.types.assign(n, TokenType::unused);
  std::vector<bool> filled(n, false);
  for (const auto& [token, id] : vocab_json.items()) {
    const auto i = static_cast<size_t>(id.get<int64_t>());
    vocab.tokens[i] = token;
    vocab.types[i] = TokenType::normal;
    filled[i] = true;
  }

  const bool byte_fallback = model.value("byte_fallback", false);
  if (byte_fallback) {
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = vocab.tokens[i];
      if (filled[i] && t.size() == 6 && t.starts_with("<0x") && t[5] == '>' &&
          std::isxdigit(static_cast<unsigned char>(t[3])) &&
          std::isxdigit(static_cast<unsigned char>(t[4]))) {
        vocab.types[i] = TokenType::byte;
      }
    }
  }

  for (const json& a : added) {
    const auto i = static_cast<size_t>(a["id"].get<int64_t>());
    auto content = a.find("content");
    if (content == a.end() || !content->is_string()) {
      fail_invalid("{}: added_tokens entry {} has no content string", path, i);
    }
    std::string t = content->get<std::string>();
    if (a.value("special", false) || tok::looks_special(t)) {
      vocab.types[i] = TokenType::control;
    } else {
      // As the converter does: llama.cpp matches user-defined tokens against raw text.
      std::string plain;
      for (size_t k = 0; k < t.size();) {
        if (t.compare(k, kSpace.size(), kSpace) == 0) {
          plain += ' ';
          k += kSpace.size();
        } else {
          plain += t[k++];
        }
      }
      t = std::move(plain);
      vocab.types[i] = TokenType::user_defined;
    }
    vocab.tokens[i] = std::move(t);
    filled[i] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!filled[i]) vocab.tokens[i] = "[PAD" + std::to_string(i) + "]";
  }

  return vocab;
}

void read_merges(const json& model, Vocab& vocab, const std::string& path) {
  auto merges_it = model.find("merges");
  if (merges_it != model.end()) {
    if (!merges_it->is_array()) fail_invalid("{}: model.merges is not an array", path);
    vocab.merges.reserve(merges_it->size());
    for (const json& m : *merges_it) {
      if (m.is_string()) {
        vocab.merges.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        vocab.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      } else {
        fail_invalid("{}: model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", path,
                     vocab.merges.size());
      }
    }
  }
}

// Which family: from the normalizer, pre-tokenizer and decoder (and byte fallback): the
// vocabulary's model and pre-tokenizer names as llama.cpp's converter sets them.
void read_family(const json& root, bool byte_fallback, Vocab& vocab, const std::string& path) {
  const size_t n = vocab.tokens.size();
  std::vector<const json*> normalizers;
  std::vector<const json*> pre_tokenizers;
  std::vector<const json*> decoders;
  if (root.contains("normalizer")) flatten(root["normalizer"], "normalizers", normalizers);
  if (root.contains("pre_tokenizer"))
    flatten(root["pre_tokenizer"], "pretokenizers", pre_tokenizers);
  if (root.contains("decoder")) flatten(root["decoder"], "decoders", decoders);
  auto has_type = [](const std::vector<const json*>& list, std::string_view t) {
    return std::any_of(list.begin(), list.end(),
                       [&](const json* j) { return j->value("type", "") == t; });
  };

  bool space_to_meta = false;  // spaces become U+2581
  bool prefix = false;         // and one is prepended
  for (const json* nz : normalizers) {
    const std::string t = nz->value("type", "");
    if (t == "Replace" && pattern_of(*nz).first == " " && string_field(*nz, "content") == kSpace) {
      space_to_meta = true;
    } else if (t == "Prepend" && string_field(*nz, "prepend") == kSpace) {
      prefix = true;
    }
  }
  for (const json* pt : pre_tokenizers) {
    if (pt->value("type", "") == "Metaspace") {
      space_to_meta = true;
      const std::string scheme = string_field(*pt, "prepend_scheme");
      prefix = scheme.empty() ? pt->value("add_prefix_space", true) : scheme != "never";
    }
  }

  const bool byte_level = has_type(pre_tokenizers, "ByteLevel") || has_type(decoders, "ByteLevel");
  if (byte_level) {
    vocab.model = "gpt2";
    std::string regex;
    for (const json* pt : pre_tokenizers) {
      const std::string t = pt->value("type", "");
      if (t == "Split") {
        auto [pattern, is_regex] = pattern_of(*pt);
        if (!is_regex || !regex.empty()) {
          fail_unsupported("{}: pre-tokenizer Split on '{}' is not a supported family", path,
                           pattern);
        }
        regex = pattern;
      } else if (t == "ByteLevel") {
        if (pt->value("use_regex", true)) {
          if (!regex.empty()) fail_unsupported("{}: two pre-tokenizer regexes", path);
          regex = "gpt-2";
        }
      } else {
        fail_unsupported("{}: pre-tokenizer '{}' is not supported with byte-level BPE", path, t);
      }
    }
    vocab.pre = regex == "gpt-2" || regex.empty() ? "gpt-2" : tok::pre_name_for_regex(regex);
    if (vocab.pre.empty()) {
      fail_unsupported("{}: pre-tokenizer regex '{}' matches no supported family ({})", path, regex,
                       "gpt-2, llama-bpe, qwen2, gpt-4o, tekken");
    }
  } else if (byte_fallback && space_to_meta) {
    if (prefix) {
      // SentencePiece proper: the merge ranks become scores (earlier merge, higher score).
      vocab.model = "llama";
      vocab.pre = "default";
      vocab.add_space_prefix = true;
      vocab.scores.assign(n, -1e9f);
      std::unordered_map<std::string, size_t> first_rank;
      for (size_t r = 0; r < vocab.merges.size(); ++r) {
        const std::string& m = vocab.merges[r];
        const size_t pos = m.find(' ', 1);
        if (pos == std::string::npos) continue;
        first_rank.emplace(m.substr(0, pos) + m.substr(pos + 1), r);
      }
      for (size_t i = 0; i < n; ++i) {
        auto it = first_rank.find(vocab.tokens[i]);
        if (it != first_rank.end()) vocab.scores[i] = -static_cast<float>(it->second);
      }
    } else {
      vocab.model = "gemma4";
      vocab.pre = "gemma4";
      vocab.add_space_prefix = false;
    }
  } else {
    fail_unsupported(
        "{}: BPE without a byte-level pre-tokenizer or SentencePiece-style byte fallback is not "
        "supported",
        path);
  }
}

// BOS/EOS policy from the post-processor template (tokenizer_config.json may override it).
void read_post_processor(const json& root, Vocab& vocab) {
  if (root.contains("post_processor") && root["post_processor"].is_object()) {
    const json& pp = root["post_processor"];
    if (pp.value("type", "") == "TemplateProcessing" && pp.contains("single") &&
        pp["single"].is_array() && !pp["single"].empty()) {
      const json& single = pp["single"];
      auto special_id = [&](const json& item) -> int32_t {
        if (!item.is_object() || !item.contains("SpecialToken")) return -1;
        return tok::find_token(vocab, string_field(item["SpecialToken"], "id"));
      };
      const int32_t first = special_id(single.front());
      const int32_t last = single.size() > 1 ? special_id(single.back()) : -1;
      vocab.add_bos = first >= 0;
      if (first >= 0) vocab.bos_id = first;
      vocab.add_eos = last >= 0;
      if (last >= 0) vocab.eos_id = last;
    }
  }
}

Vocab parse_checked(std::string_view text, const std::string& path, std::string_view config_text) {
  const json root = tok::parse_json_text(text, path);
  if (!root.is_object()) fail_invalid("{}: expected a JSON object at the top level", path);
  auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object()) {
    fail_invalid("{}: no \"model\" object (is this a tokenizer.json?)", path);
  }
  const json& model = *model_it;
  const std::string type = model.value("type", model.contains("merges") ? "BPE" : "");
  if (type != "BPE") {
    fail_unsupported("{}: tokenizer model type '{}' is not supported; supported: BPE", path, type);
  }
  auto vocab_it = model.find("vocab");
  if (vocab_it == model.end() || !vocab_it->is_object() || vocab_it->empty()) {
    fail_invalid("{}: model.vocab is missing or empty", path);
  }
  Vocab vocab = read_tokens(root, model, *vocab_it, path);
  read_merges(model, vocab, path);
  read_family(root, model.value("byte_fallback", false), vocab, path);
  // tokenizer_config.json overrides the post-processor's policy.
  read_post_processor(root, vocab);
  if (!config_text.empty()) {
    tok::apply_tokenizer_config(tok::parse_json_text(config_text, path + " (tokenizer_config)"),
                                vocab, path);
  }
  if (vocab.unk_id < 0 && model.contains("unk_token") && model["unk_token"].is_string()) {
    vocab.unk_id = tok::find_token(vocab, model["unk_token"].get<std::string>());
  }
  return vocab;
}

}  // namespace

Vocab parse_tokenizer_json(std::string_view text, const std::string& path,
                           std::string_view config_text) {
  try {
    return parse_checked(text, path, config_text);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong JSON type (a number where a string belongs, ...).
    fail_invalid("{}: unexpected JSON structure: {}", path, e.what());
  }
}

Vocab read_tokenizer_json(const std::filesystem::path& path) {
  const std::string text = read_text_file(path);
  std::string config;
  const auto config_path = path.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) config = read_text_file(config_path);
  Vocab vocab = parse_tokenizer_json(text, path.string(), config);
  vocab.source = "tokenizer.json";
  return vocab;
}

}  // namespace slmkit
