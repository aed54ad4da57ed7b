// Format <-> neutral model, one pair of functions per format. load_model/save_model dispatch here.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "formats/gguf.h"
#include "slmkit/model.h"

namespace slmkit {

Model model_from_gguf(const gguf::File& file);
// `file_type`: the llama_ftype written as general.file_type.
void write_gguf_model(const Model& model, const std::filesystem::path& path, int32_t file_type);

// Streaming: tensors named in `deferred` are written with the type and shape given there, their
// bytes made by the producer only when the writer reaches them (one at a time), in place of the
// model's tensor of that name. `model` must already be in GGUF's conventions
// (to_gguf_conventions), since a deferred tensor cannot be converted on the way.
// `block_tensors`: whether the file holds block types (general.quantization_version).
struct DeferredTensor {
  DType type = DType::F32;
  Shape shape;
  gguf::Writer::Producer produce;
};
void write_gguf_model(const Model& model, const std::filesystem::path& path, int32_t file_type,
                      bool block_tensors, const std::map<std::string, DeferredTensor>& deferred);
// Brings `model` to the RoPE row order and norm convention GGUF stores (what write_gguf_model does
// to a copy on the way out); a model read from a GGUF is already there and is left as it is.
void to_gguf_conventions(Model& model);

// What write_gguf_model(model, ..., file_type) would lay out, without writing: header bytes and
// the tensors it stores. A tensor's type changes neither the header's size nor which tensors are
// stored, so a file of the same model with other tensor types has header_bytes plus each
// tensor's bytes padded to `alignment`. `block_tensors`: whether that file holds block types
// (it then carries general.quantization_version).
struct GgufModelLayout {
  uint64_t header_bytes = 0;
  uint64_t alignment = 0;
  std::vector<gguf::Writer::TensorLayout> tensors;
};
GgufModelLayout gguf_model_layout(const Model& model, int32_t file_type, bool block_tensors);

Model model_from_hf_folder(const std::filesystem::path& dir);
// config.json -> ModelConfig (architecture found from "model_type"); errors name `where`.
ModelConfig config_from_hf_json(const nlohmann::ordered_json& config, const std::string& where);
void write_hf_folder(const Model& model, const std::filesystem::path& dir);

Model model_from_llama2c(const std::filesystem::path& path, const LoadOptions& options);

// GGUF key-values as JSON for reports: long arrays are summarized by type and length.
nlohmann::ordered_json gguf_metadata_json(const gguf::File& file);

}  // namespace slmkit
