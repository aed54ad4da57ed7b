// What a path holds, decided in one place: by content where the content says (GGUF's magic, a
// llama2.c header that matches the file size, a SentencePiece protobuf, a llama2.c tokenizer that
// walks to the end), else by the names the formats use. load_model, Tokenizer::from_path and
// validation's artifact classification all ask here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace slmkit::io {

enum class FileKind {
  folder,              // a directory (a Hugging Face folder, an ONNX export: the caller decides)
  gguf,                // "GGUF" magic, or a .gguf name (a broken one: the format checks say why)
  hf_model_file,       // config.json, model.safetensors, model.safetensors.index.json: its folder
  onnx_graph,          // *.onnx
  tokenizer_json,      // *.json other than the two below
  bpe_vocab_json,      // vocab.json / encoder.json (GPT-2 BPE, with merges beside it)
  bpe_merges,          // *.bpe (GPT-2's vocab.bpe, with encoder.json beside it)
  sentencepiece,       // *.model, or bytes that read as a SentencePiece ModelProto
  llama2c_checkpoint,  // a header whose shapes add up to the file size
  llama2c_tokenizer,   // tokenizer.bin: records that walk exactly to the end
  unknown,
};
std::string_view file_kind_name(FileKind kind);

// Error(io) when the path does not exist.
FileKind sniff(const std::filesystem::path& path);

// Records of a llama2.c tokenizer.bin (int32 max_token_length, then (f32 score, int32 len,
// bytes)); -1 when the bytes do not walk exactly to the end.
int64_t count_llama2c_tokens(std::span<const std::byte> bytes);

}  // namespace slmkit::io
