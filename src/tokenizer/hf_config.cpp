#include "tokenizer/hf_config.h"

#include <fstream>
#include <sstream>

#include "core/fail.h"

namespace slmkit::tok {

namespace {
constexpr int kMaxJsonDepth = 64;

void check_depth(std::string_view text, const std::string& path) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        fail_invalid("{}: JSON nested deeper than {} levels at byte {}", path, kMaxJsonDepth, i);
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// A special token in tokenizer_config.json is a string or {"content": "..."}.
std::string token_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) {
    auto it = v.find("content");
    if (it != v.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}
}  // namespace

static void apply_config_checked(const nlohmann::json& config, Vocab& vocab,
                                 const std::string& path);

nlohmann::json parse_json_text(std::string_view text, const std::string& path) {
  check_depth(text, path);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: not valid JSON: {}", path, e.what());
  }
}

int32_t find_token(const Vocab& vocab, std::string_view text) {
  for (size_t i = vocab.tokens.size(); i-- > 0;) {
    if (vocab.tokens[i] == text) return static_cast<int32_t>(i);
  }
  return -1;
}

bool looks_special(std::string_view t) {
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  if (t.starts_with("<|") && t.ends_with("|>")) return true;
  if (t.starts_with("<\uff5c") && t.ends_with("\uff5c>")) return true;
  return t.starts_with("<unused") && t.ends_with(">");
}

void apply_tokenizer_config(const nlohmann::json& config, Vocab& vocab, const std::string& path) {
  try {
    apply_config_checked(config, vocab, path);
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: unexpected tokenizer_config structure: {}", path, e.what());
  }
}

static void apply_config_checked(const nlohmann::json& config, Vocab& vocab,
                                 const std::string& path) {
  if (!config.is_object()) fail_invalid("{}: expected a JSON object", path);
  auto flag = [&](const char* key, std::optional<bool>& out) {
    auto it = config.find(key);
    if (it != config.end() && it->is_boolean()) out = it->get<bool>();
  };
  flag("add_bos_token", vocab.add_bos);
  flag("add_eos_token", vocab.add_eos);
  auto id = [&](const char* key, int32_t& out) {
    auto it = config.find(key);
    if (it == config.end()) return;
    const std::string text = token_text(*it);
    if (text.empty()) return;
    const int32_t found = find_token(vocab, text);
    if (found >= 0) out = found;
  };
  id("bos_token", vocab.bos_id);
  id("eos_token", vocab.eos_id);
  id("unk_token", vocab.unk_id);
  id("pad_token", vocab.pad_id);
  auto tmpl = config.find("chat_template");
  if (tmpl != config.end()) {
    if (tmpl->is_string()) {
      vocab.chat_template = tmpl->get<std::string>();
    } else if (tmpl->is_array()) {
      // A list of named templates: the one called "default" is the chat template.
      for (const auto& t : *tmpl) {
        if (t.is_object() && t.contains("name") && t["name"] == "default" &&
            t.contains("template") && t["template"].is_string()) {
          vocab.chat_template = t["template"].get<std::string>();
        }
      }
    }
  }
}

}  // namespace slmkit::tok
