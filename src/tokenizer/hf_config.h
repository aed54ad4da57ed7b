// Pieces shared by the Hugging Face loaders: bounded JSON parsing, tokenizer_config.json
// (special tokens, add-BOS/EOS policy, chat template) and the converter's "looks special" rule.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slmkit/vocab.h"

namespace slmkit::tok {

// Parses JSON text; Error(invalid_input) naming `path` and the parser's message, or the nesting
// depth when it exceeds what any tokenizer file needs (deep nesting is an attack, not data).
nlohmann::json parse_json_text(std::string_view text, const std::string& path);

// Applies tokenizer_config.json: add_bos_token / add_eos_token, bos/eos/unk/pad tokens (by
// text, looked up in vocab.tokens) and chat_template. Unknown keys are ignored.
void apply_tokenizer_config(const nlohmann::json& config, Vocab& vocab, const std::string& path);

// llama.cpp's converter marks these added tokens control even when not flagged special.
bool looks_special(std::string_view text);

// Index of `text` in vocab.tokens (the last one with that text), or -1.
int32_t find_token(const Vocab& vocab, std::string_view text);

}  // namespace slmkit::tok
