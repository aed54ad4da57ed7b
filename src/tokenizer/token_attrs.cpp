#include "tokenizer/token_attrs.h"

#include <string_view>

namespace slmkit::tok {

namespace {

// Texts llama.cpp treats as end-of-turn (first match becomes the EOT id).
constexpr std::string_view kEot[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<end_of_utterance>",
};
// Fill-in-the-middle texts; llama.cpp marks them control. The pad, repo and file-separator
// ones also end generation.
constexpr std::string_view kFim[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",    "<\uff5cfim\u2581begin\uff5c>",
    "<PRE>",          "\u2581<PRE>",  "<|code_prefix|>", "<|prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",    "<\uff5cfim\u2581hole\uff5c>",
    "<SUF>",          "\u2581<SUF>",  "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>",    "<\uff5cfim\u2581end\uff5c>",
    "<MID>",          "\u2581<MID>",  "<|code_middle|>", "<|middle|>",
};
constexpr std::string_view kFimEog[] = {
    "<|fim_pad|>",   "<fim-pad>",  "<fim_pad>", "<PAD>",      "[PAD]",        "<|fim_repo|>",
    "<|repo_name|>", "<fim-repo>", "<REPO>",    "<reponame>", "<|file_sep|>",
};
// Texts that end generation.
constexpr std::string_view kEog[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",
    "[e~[",
};

template <size_t N>
bool in(std::string_view text, const std::string_view (&list)[N]) {
  for (std::string_view s : list) {
    if (s == text) return true;
  }
  return false;
}

uint16_t attr_of(TokenType type) {
  switch (type) {
    case TokenType::normal:
      return kAttrNormal;
    case TokenType::unknown:
      return kAttrUnknown;
    case TokenType::control:
      return kAttrControl;
    case TokenType::user_defined:
      return kAttrUserDefined;
    case TokenType::unused:
      return kAttrUnused;
    case TokenType::byte:
      return kAttrByte;
    case TokenType::undefined:
      break;
  }
  return 0;
}

}  // namespace

TokenAttrs derive_token_attrs(const Vocab& vocab) {
  const size_t n = vocab.tokens.size();
  TokenAttrs out;
  out.attr.assign(n, kAttrNormal);
  out.eog.assign(n, 0);
  if (vocab.types.size() >= n) {
    for (size_t i = 0; i < n; ++i) out.attr[i] = attr_of(vocab.types[i]);
  }
  int32_t tool_response = -1;
  int32_t end_s = -1;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view text = vocab.tokens[i];
    const auto id = static_cast<int32_t>(i);
    bool control = false;
    if (in(text, kEot)) {
      control = true;
      if (out.eot_id < 0) out.eot_id = id;
    }
    if (text == "<|eom_id|>" || in(text, kFim)) control = true;
    if (in(text, kFimEog) || in(text, kEog)) {
      control = true;
      out.eog[i] = 1;
    }
    if (control) out.attr[i] |= kAttrControl;
    if (text == "<|tool_response>") tool_response = id;
    if (text == "</s>") end_s = id;
  }
  if (vocab.eot_id >= 0 && static_cast<size_t>(vocab.eot_id) < n) out.eot_id = vocab.eot_id;
  for (int32_t id : {vocab.eos_id, out.eot_id}) {
    if (id >= 0 && static_cast<size_t>(id) < n) out.eog[id] = 1;
  }
  // Gemma 4 ships "</s>" as an ordinary token next to "<|tool_response>": not an end there.
  if (tool_response >= 0 && end_s >= 0 && out.eog[tool_response] && end_s != vocab.eos_id) {
    out.eog[end_s] = 0;
    out.attr[end_s] = kAttrNormal;
  }
  return out;
}

}  // namespace slmkit::tok
