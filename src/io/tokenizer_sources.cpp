// Finding the tokenizer in whatever the user points at: a model (GGUF, Hugging Face folder,
// llama2.c checkpoint) or a vocabulary file, told apart by io::sniff.
#include "core/fail.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "formats/llama2c.h"
#include "formats/model_io.h"
#include "io/file_kind.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {

namespace {

namespace fs = std::filesystem;

fs::path beside(const fs::path& path, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (fs::exists(path.parent_path() / name)) return path.parent_path() / name;
  }
  return {};
}

Vocab vocab_of_folder(const fs::path& dir) {
  Vocab v = read_folder_vocab(dir);
  if (v.empty()) fail_invalid("{}: the folder holds no tokenizer", dir.string());
  return v;
}

Vocab vocab_of(const fs::path& path) {
  switch (io::sniff(path)) {
    case io::FileKind::folder:
      return vocab_of_folder(path);
    case io::FileKind::hf_model_file:
      return vocab_of_folder(path.parent_path().empty() ? fs::path(".") : path.parent_path());
    case io::FileKind::gguf: {
      Vocab v = gguf::read_vocab(gguf::read_file(path));
      if (v.empty())
        fail_invalid("{}: the GGUF file has no tokenizer (tokenizer.ggml.*)", path.string());
      return v;
    }
    case io::FileKind::bpe_vocab_json: {
      const fs::path merges = beside(path, {"merges.txt", "vocab.bpe"});
      if (merges.empty()) fail_invalid("{}: no merges.txt or vocab.bpe beside it", path.string());
      return read_vocab_and_merges(path, merges);
    }
    case io::FileKind::tokenizer_json:
      return read_tokenizer_json(path);
    case io::FileKind::bpe_merges: {
      const fs::path vocab = beside(path, {"encoder.json", "vocab.json"});
      if (vocab.empty()) fail_invalid("{}: no encoder.json or vocab.json beside it", path.string());
      return read_vocab_and_merges(vocab, path);
    }
    case io::FileKind::sentencepiece:
      return read_sentencepiece_model(path);
    case io::FileKind::llama2c_checkpoint: {
      Vocab v = model_from_llama2c(path, {}).vocab;
      if (v.empty()) {
        fail_invalid(
            "{}: a llama2.c checkpoint carries no vocabulary; put its tokenizer.bin (or "
            "tok<vocab>.bin) beside it, or pass that file instead",
            path.string());
      }
      return v;
    }
    case io::FileKind::llama2c_tokenizer: {
      const auto file = MappedFile::open(path);
      return llama2c::read_tokenizer(path, io::count_llama2c_tokens(file->bytes()));
    }
    case io::FileKind::onnx_graph:
    case io::FileKind::unknown:
      break;
  }
  fail_invalid(
      "{}: not a tokenizer this knows: expected GGUF, tokenizer.json, vocab.json + merges.txt, "
      "tokenizer.model, a llama2.c tokenizer.bin or checkpoint",
      path.string());
}

}  // namespace

Tokenizer Tokenizer::from_path(const std::filesystem::path& path) {
  return Tokenizer(vocab_of(path));
}

}  // namespace slmkit
