// SentencePiece tokenizer.model -> Vocab "llama", the way llama.cpp's converter writes it: the
// pieces with their scores and types, special ids from the trainer spec, and the dummy-prefix
// flag from the normalizer spec.
#include <limits>

#include "core/fail.h"
#include "core/mapped_file.h"
// protoc's output lands under proto/ or beside the include root depending on the CMake version.
#if __has_include("sentencepiece_model.pb.h")
#include "sentencepiece_model.pb.h"
#else
#include "proto/sentencepiece_model.pb.h"
#endif
#include "tokenizer/vocab_sources.h"

namespace slmkit {

namespace {

TokenType type_of(slmkit::sentencepiece::ModelProto_SentencePiece_Type t) {
  using P = slmkit::sentencepiece::ModelProto_SentencePiece;
  switch (t) {
    case P::NORMAL:
      return TokenType::normal;
    case P::UNKNOWN:
      return TokenType::unknown;
    case P::CONTROL:
      return TokenType::control;
    case P::USER_DEFINED:
      return TokenType::user_defined;
    case P::BYTE:
      return TokenType::byte;
    case P::UNUSED:
      return TokenType::unused;
  }
  return TokenType::normal;
}

}  // namespace

Vocab parse_sentencepiece_model(std::span<const std::byte> bytes, const std::string& path) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    fail_invalid("{}: {} bytes is too large for a SentencePiece model", path, bytes.size());
  }
  slmkit::sentencepiece::ModelProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    fail_invalid("{}: not a SentencePiece ModelProto (protobuf parse failed after {} bytes)", path,
                 bytes.size());
  }
  if (proto.pieces_size() == 0) fail_invalid("{}: the model has no pieces", path);
  const auto& trainer = proto.trainer_spec();
  if (trainer.model_type() != slmkit::sentencepiece::TrainerSpec::BPE) {
    fail_unsupported("{}: SentencePiece model_type {} is not supported; supported: BPE (2)", path,
                     static_cast<int>(trainer.model_type()));
  }

  Vocab vocab;
  vocab.model = "llama";
  vocab.pre = "default";
  vocab.source = "tokenizer.model";
  const auto n = static_cast<size_t>(proto.pieces_size());
  vocab.tokens.reserve(n);
  vocab.scores.reserve(n);
  vocab.types.reserve(n);
  for (const auto& p : proto.pieces()) {
    vocab.tokens.push_back(p.piece());
    vocab.scores.push_back(p.score());
    vocab.types.push_back(type_of(p.type()));
  }
  auto id = [&](int32_t v) { return v >= 0 && static_cast<size_t>(v) < n ? v : -1; };
  vocab.unk_id = id(trainer.unk_id());
  vocab.bos_id = id(trainer.bos_id());
  vocab.eos_id = id(trainer.eos_id());
  vocab.pad_id = id(trainer.pad_id());
  vocab.add_space_prefix = proto.normalizer_spec().add_dummy_prefix();
  return vocab;
}

Vocab read_sentencepiece_model(const std::filesystem::path& path) {
  auto file = MappedFile::open(path);
  return parse_sentencepiece_model(file->bytes(), path.string());
}

}  // namespace slmkit
