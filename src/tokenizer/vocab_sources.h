// Vocabularies from every source a model brings, all into the one GGUF-shaped Vocab.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "slmkit/vocab.h"

namespace slmkit {

// tokenizer.json (+ tokenizer_config.json beside it when present: added/special tokens,
// add_bos/add_eos, chat template). Detects BPE byte-level vs SentencePiece-style models and
// sets Vocab::model and Vocab::pre the way llama.cpp's converter names them.
Vocab read_tokenizer_json(const std::filesystem::path& path);
// The same from text in memory (fuzzers, tests); `config_json` may be empty. `path` names the
// source in error messages.
Vocab parse_tokenizer_json(std::string_view json, const std::string& path,
                           std::string_view config_json = {});
// GPT-2 style vocab.json (or encoder.json) + merges.txt (or vocab.bpe).
Vocab read_vocab_and_merges(const std::filesystem::path& vocab_json,
                            const std::filesystem::path& merges_txt);
// SentencePiece tokenizer.model (protobuf ModelProto).
Vocab read_sentencepiece_model(const std::filesystem::path& path);
Vocab parse_sentencepiece_model(std::span<const std::byte> bytes, const std::string& path);
// Whatever tokenizer files a Hugging Face folder holds, in this order of preference:
// tokenizer.json, tokenizer.model, vocab.json + merges.txt. An empty Vocab when none.
Vocab read_folder_vocab(const std::filesystem::path& dir);

}  // namespace slmkit
