// GPT-2's original pair of files: vocab.json / encoder.json (token -> id) and merges.txt /
// vocab.bpe (one "a b" merge per line after a "#version" header).
#include <algorithm>

#include "core/fail.h"
#include "slmkit/files.h"
#include "tokenizer/hf_config.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {

namespace {

Vocab read_checked(const std::filesystem::path& vocab_json,
                   const std::filesystem::path& merges_txt) {
  const std::string where = vocab_json.string();
  const nlohmann::json j = tok::parse_json_text(read_text_file(vocab_json), where);
  if (!j.is_object() || j.empty())
    fail_invalid("{}: expected a non-empty token -> id object", where);

  size_t n = 0;
  for (const auto& [token, id] : j.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        static_cast<uint64_t>(id.get<int64_t>()) >= j.size()) {
      fail_invalid("{}: token '{}' has id {}, expected an integer in [0, {})", where, token,
                   id.dump(), j.size());
    }
    n = std::max<size_t>(n, static_cast<size_t>(id.get<int64_t>()) + 1);
  }
  Vocab vocab;
  vocab.model = "gpt2";
  vocab.pre = "gpt-2";
  vocab.source = "vocab.json+merges.txt";
  vocab.tokens.resize(n);
  vocab.types.assign(n, TokenType::unused);
  for (const auto& [token, id] : j.items()) {
    const auto i = static_cast<size_t>(id.get<int64_t>());
    vocab.tokens[i] = token;
    vocab.types[i] = tok::looks_special(token) ? TokenType::control : TokenType::normal;
  }
  for (size_t i = 0; i < n; ++i) {
    if (vocab.tokens[i].empty()) vocab.tokens[i] = "[PAD" + std::to_string(i) + "]";
  }

  const std::string merges = read_text_file(merges_txt);
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < merges.size()) {
    size_t end = merges.find('\n', pos);
    if (end == std::string::npos) end = merges.size();
    std::string_view line(merges.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    if (line.find(' ', 1) == std::string_view::npos) {
      fail_invalid("{}: line {}: expected \"a b\", found '{}'", merges_txt.string(), line_no, line);
    }
    vocab.merges.emplace_back(line);
  }
  if (vocab.merges.empty()) fail_invalid("{}: no merges", merges_txt.string());

  // GPT-2's one special token is both BOS and EOS (as its GGUF conversion records).
  const int32_t eot = tok::find_token(vocab, "<|endoftext|>");
  if (eot >= 0) vocab.bos_id = vocab.eos_id = eot;
  const auto config = vocab_json.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config)) {
    tok::apply_tokenizer_config(tok::parse_json_text(read_text_file(config), config.string()),
                                vocab, config.string());
  }
  return vocab;
}

}  // namespace

Vocab read_vocab_and_merges(const std::filesystem::path& vocab_json,
                            const std::filesystem::path& merges_txt) {
  try {
    return read_checked(vocab_json, merges_txt);
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: unexpected JSON structure: {}", vocab_json.string(), e.what());
  }
}

}  // namespace slmkit
