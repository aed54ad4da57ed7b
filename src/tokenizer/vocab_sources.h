// Vocabularies from every source a model brings, all into the one GGUF-shaped Vocab.
#pragma once

#include <cstdint>
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

// The other way: Hugging Face tokenizer.json / tokenizer_config.json text for a Vocab (models
// "llama", "gpt2", "gemma4"; Error(unsupported) for others), as transformers writes them, so
// that tokenizers / transformers.js and read_tokenizer_json encode as this Vocab does.
// model_max_length <= 0 leaves that key out.
std::string tokenizer_json_from_vocab(const Vocab& vocab);
std::string tokenizer_config_from_vocab(const Vocab& vocab, int64_t model_max_length);
// Writes both into `dir` (each atomically).
void write_tokenizer_json_files(const Vocab& vocab, const std::filesystem::path& dir,
                                int64_t model_max_length);

}  // namespace slmkit
