// Vocab -> Hugging Face tokenizer.json + tokenizer_config.json, for folders whose source had no
// tokenizer.json (GGUF, llama2.c, tokenizer.model, vocab.json + merges.txt) so that
// transformers.js and `tokenizers` can load them. The layouts follow what Hugging Face writes:
//   gpt2 (byte-level BPE): GPT-2's ByteLevel pre-tokenizer, or Split(regex) + ByteLevel for the
//     other families (Llama 3, Qwen2, ...), as their tokenizer.json files state them.
//   llama (SentencePiece): transformers' LlamaConverter output: BPE with byte_fallback, the
//     Prepend("▁") + Replace(" " -> "▁") normalizer, merges extracted from the vocabulary.
//   gemma4 (BPE with byte fallback, no prefix): Gemma 3's layout (Replace normalizer, Split on
//     spaces).
#include <algorithm>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {

namespace {

using nlohmann::ordered_json;

constexpr const char* kSpace = "\xE2\x96\x81";

TokenType type_of(const Vocab& v, size_t i) {
  return i < v.types.size() ? v.types[i] : TokenType::normal;
}

// One character's bytes (a stray byte counts as one), so merges split between characters as
// transformers' Python string slicing does.
size_t char_len(std::string_view s, size_t i) {
  return std::max<size_t>(1, tok::utf8_valid_len(s, i));
}

bool is_added(TokenType t) {
  return t == TokenType::control || t == TokenType::unknown || t == TokenType::unused ||
         t == TokenType::user_defined;
}

// The BOS/EOS policy the vocabulary resolves to, with the defaults Tokenizer applies when the
// vocabulary states none (llama.cpp's); the round-trip tests hold the two together. Not read
// off a Tokenizer: building one costs seconds for large vocabularies and refuses a byte-level
// vocabulary without merges, which tokenizer.json allows.
struct SpecialPolicy {
  bool add_bos = false;
  bool add_eos = false;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
};

SpecialPolicy special_policy(const Vocab& vocab) {
  const int32_t n = static_cast<int32_t>(vocab.size());
  auto in_range = [&](int32_t id) { return id >= 0 && id < n ? id : -1; };
  SpecialPolicy p;
  p.bos_id = vocab.bos_id;
  p.eos_id = vocab.eos_id;
  if (vocab.model == "llama") {
    if (p.bos_id < 0) p.bos_id = 1;
    if (p.eos_id < 0) p.eos_id = 2;
    p.add_bos = vocab.add_bos.value_or(true);
  } else if (vocab.model == "gemma4") {
    p.add_bos = true;
  } else {
    p.add_bos = vocab.add_bos.value_or(tok::pre_tokenizer_spec(vocab.pre).add_bos);
  }
  p.add_eos = vocab.add_eos.value_or(false);
  p.bos_id = in_range(p.bos_id);
  p.eos_id = in_range(p.eos_id);
  p.add_bos = p.add_bos && p.bos_id >= 0;
  p.add_eos = p.add_eos && p.eos_id >= 0;
  return p;
}

// transformers' SentencePieceExtractor: every split of a piece into two pieces of the
// vocabulary is a merge, ranked by the merged piece's score (highest first; ties keep
// vocabulary order), the splits of one piece by the ids of their halves. Applied as BPE this
// merges, at each step, the pair forming the best-scored piece: SentencePiece's own rule.
ordered_json merges_from_scores(const Vocab& vocab) {
  std::unordered_map<std::string_view, int32_t> ids;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    ids.emplace(vocab.tokens[i], static_cast<int32_t>(i));  // the first of duplicates
  }
  struct Merge {
    float score;
    int32_t piece, left, right;
  };
  std::vector<Merge> merges;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    if (type_of(vocab, i) != TokenType::normal) continue;
    const std::string& t = vocab.tokens[i];
    const float score = vocab.scores.empty() ? -static_cast<float>(i) : vocab.scores[i];
    if (t.empty()) continue;
    for (size_t k = char_len(t, 0); k < t.size(); k += char_len(t, k)) {
      auto l = ids.find(std::string_view(t).substr(0, k));
      auto r = ids.find(std::string_view(t).substr(k));
      if (l != ids.end() && r != ids.end()) {
        merges.push_back({score, static_cast<int32_t>(i), l->second, r->second});
      }
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.piece != b.piece) return a.piece < b.piece;
    return std::tie(a.left, a.right) < std::tie(b.left, b.right);
  });
  ordered_json out = ordered_json::array();
  for (const Merge& m : merges) {
    out.push_back(ordered_json::array({vocab.tokens[m.left], vocab.tokens[m.right]}));
  }
  return out;
}

ordered_json byte_level(bool add_prefix_space, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", true},
          {"use_regex", use_regex}};
}

ordered_json replace(const std::string& from, const std::string& to) {
  return {{"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}

ordered_json template_processing(const Vocab& vocab, const SpecialPolicy& p) {
  ordered_json single = ordered_json::array();
  ordered_json pair = ordered_json::array();
  ordered_json specials = ordered_json::object();
  auto special = [&](int32_t id, int type_id) {
    const std::string& t = vocab.tokens[static_cast<size_t>(id)];
    specials[t] = {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
    return ordered_json{{"SpecialToken", {{"id", t}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return ordered_json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  for (int type_id = 0; type_id < 2; ++type_id) {
    ordered_json& list = type_id == 0 ? single : pair;
    for (int part = 0; part <= type_id; ++part) {
      if (p.add_bos) list.push_back(special(p.bos_id, part));
      list.push_back(sequence(part == 0 ? "A" : "B", part));
      if (p.add_eos) list.push_back(special(p.eos_id, part));
    }
  }
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"pair", pair},
          {"special_tokens", specials}};
}

}  // namespace

std::string tokenizer_json_from_vocab(const Vocab& vocab) {
  if (vocab.empty()) fail_invalid("tokenizer.json: the model carries no vocabulary");
  const bool spm = vocab.model == "llama";
  const bool gemma4 = vocab.model == "gemma4";
  if (!spm && !gemma4 && vocab.model != "gpt2") {
    fail_unsupported(
        "tokenizer.json: tokenizer model '{}' cannot be written (supported: llama, gpt2, gemma4)",
        vocab.model);
  }
  const SpecialPolicy policy = special_policy(vocab);

  ordered_json root;
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  ordered_json added = ordered_json::array();
  std::set<std::string_view> seen;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const TokenType t = type_of(vocab, i);
    if (!is_added(t)) continue;
    added.push_back({{"id", i},
                     {"content", vocab.tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", t == TokenType::user_defined},
                     {"special", t != TokenType::user_defined}});
  }
  root["added_tokens"] = std::move(added);

  ordered_json model = {{"type", "BPE"},
                        {"dropout", nullptr},
                        {"unk_token", nullptr},
                        {"continuing_subword_prefix", nullptr},
                        {"end_of_word_suffix", nullptr},
                        {"fuse_unk", spm || gemma4},
                        {"byte_fallback", spm || gemma4},
                        {"ignore_merges", false}};
  if (vocab.unk_id >= 0 && static_cast<size_t>(vocab.unk_id) < vocab.size()) {
    model["unk_token"] = vocab.tokens[static_cast<size_t>(vocab.unk_id)];
  } else if (spm) {
    // llama.cpp's default unknown token for SentencePiece vocabularies.
    model["unk_token"] = vocab.tokens[0];
  }

  if (spm) {
    root["normalizer"] = {
        {"type", "Sequence"},
        {"normalizers", {{{"type", "Prepend"}, {"prepend", kSpace}}, replace(" ", kSpace)}}};
    root["pre_tokenizer"] = nullptr;
    root["post_processor"] = template_processing(vocab, policy);
    root["decoder"] = {{"type", "Sequence"},
                       {"decoders",
                        {replace(kSpace, " "),
                         {{"type", "ByteFallback"}},
                         {{"type", "Fuse"}},
                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  } else if (gemma4) {
    root["normalizer"] = replace(" ", kSpace);
    root["pre_tokenizer"] = {{"type", "Split"},
                             {"pattern", {{"String", " "}}},
                             {"behavior", "MergedWithPrevious"},
                             {"invert", false}};
    root["post_processor"] = template_processing(vocab, policy);
    root["decoder"] = {
        {"type", "Sequence"},
        {"decoders", {replace(kSpace, " "), {{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}};
  } else {
    const tok::PreTokenizerSpec pre = tok::pre_tokenizer_spec(vocab.pre);
    root["normalizer"] = nullptr;
    if (pre.name == "gpt-2") {
      root["pre_tokenizer"] = byte_level(false, true);
    } else {
      ordered_json list = ordered_json::array();
      for (const std::string& regex : pre.regexes) {
        list.push_back({{"type", "Split"},
                        {"pattern", {{"Regex", regex}}},
                        {"behavior", "Isolated"},
                        {"invert", false}});
      }
      list.push_back(byte_level(false, false));
      root["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", std::move(list)}};
    }
    root["post_processor"] = policy.add_bos || policy.add_eos ? template_processing(vocab, policy)
                                                              : byte_level(true, true);
    root["decoder"] = byte_level(true, true);
    model["continuing_subword_prefix"] = "";
    model["end_of_word_suffix"] = "";
    model["ignore_merges"] = pre.ignore_merges;
  }

  // Appended to the object's storage directly: ordered_json's operator[] searches its keys
  // linearly, which for a 262k-token vocabulary took minutes.
  ordered_json::object_t ids;
  ids.reserve(vocab.tokens.size());
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    // A JSON object holds each text once: the first id of a duplicated text keeps it, as the
    // encoders look texts up that way too.
    if (seen.insert(vocab.tokens[i]).second) ids.emplace_back(vocab.tokens[i], i);
  }
  model["vocab"] = std::move(ids);
  if (spm) {
    model["merges"] = merges_from_scores(vocab);
  } else {
    ordered_json merges = ordered_json::array();
    for (const std::string& m : vocab.merges) {
      const size_t at = m.find(' ', 1);
      if (at == std::string::npos) fail_invalid("tokenizer.json: merge '{}' has no space", m);
      merges.push_back(ordered_json::array({m.substr(0, at), m.substr(at + 1)}));
    }
    model["merges"] = std::move(merges);
  }
  root["model"] = std::move(model);
  return root.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string tokenizer_config_from_vocab(const Vocab& vocab, int64_t model_max_length) {
  const SpecialPolicy policy = special_policy(vocab);
  auto text = [&](int32_t id) -> ordered_json {
    if (id < 0 || static_cast<size_t>(id) >= vocab.size()) return nullptr;
    return vocab.tokens[static_cast<size_t>(id)];
  };
  ordered_json c;
  c["add_bos_token"] = policy.add_bos;
  c["add_eos_token"] = policy.add_eos;
  // Appended to the object's storage directly (ids are unique): operator[] searches the keys
  // linearly, quadratic in the 262k unused rows a padded Gemma 3 vocabulary has (a synthetic
  // gemma3 tiny folder took 104 s).
  ordered_json::object_t decoder;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const TokenType t = type_of(vocab, i);
    if (!is_added(t)) continue;
    decoder.emplace_back(std::to_string(i),
                         ordered_json{{"content", vocab.tokens[i]},
                                      {"lstrip", false},
                                      {"normalized", t == TokenType::user_defined},
                                      {"rstrip", false},
                                      {"single_word", false},
                                      {"special", t != TokenType::user_defined}});
  }
  c["added_tokens_decoder"] = std::move(decoder);
  c["bos_token"] = text(policy.bos_id);
  c["eos_token"] = text(policy.eos_id);
  c["unk_token"] = text(vocab.unk_id);
  c["pad_token"] = text(vocab.pad_id);
  if (!vocab.chat_template.empty()) c["chat_template"] = vocab.chat_template;
  c["clean_up_tokenization_spaces"] = false;
  if (model_max_length > 0) c["model_max_length"] = model_max_length;
  // The generic fast tokenizer takes tokenizer.json as written (LlamaTokenizerFast would
  // rebuild its pipeline from a tokenizer.model we do not have).
  c["tokenizer_class"] = "PreTrainedTokenizerFast";
  return c.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void write_tokenizer_json_files(const Vocab& vocab, const std::filesystem::path& dir,
                                int64_t model_max_length) {
  write_file_atomic(dir / "tokenizer.json", tokenizer_json_from_vocab(vocab));
  write_file_atomic(dir / "tokenizer_config.json",
                    tokenizer_config_from_vocab(vocab, model_max_length));
}

}  // namespace slmkit
