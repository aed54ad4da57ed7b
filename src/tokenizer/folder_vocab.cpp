// The vocabulary of a Hugging Face folder, from whichever tokenizer files it holds.
#include <filesystem>

#include "tokenizer/vocab_sources.h"

namespace slmkit {

namespace fs = std::filesystem;

Vocab read_folder_vocab(const fs::path& dir) {
  if (fs::exists(dir / "tokenizer.json")) return read_tokenizer_json(dir / "tokenizer.json");
  if (fs::exists(dir / "tokenizer.model")) return read_sentencepiece_model(dir / "tokenizer.model");
  for (const char* vocab : {"vocab.json", "encoder.json"}) {
    for (const char* merges : {"merges.txt", "vocab.bpe"}) {
      if (fs::exists(dir / vocab) && fs::exists(dir / merges)) {
        return read_vocab_and_merges(dir / vocab, dir / merges);
      }
    }
  }
  return {};
}

}  // namespace slmkit
