// safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the data.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/tensor.h"

namespace slmkit::safetensors {

struct Entry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0;  // relative to the data section
  uint64_t end = 0;
};

struct File {
  std::string path;
  std::map<std::string, std::string> metadata;  // "__metadata__" (string values only, per spec)
  std::vector<Entry> entries;                   // in data-offset order
  uint64_t data_offset = 0;                     // 8 + header length
  std::shared_ptr<const void> owner;
  std::span<const std::byte> bytes;

  Tensor tensor(const Entry& entry) const;  // a view sharing `owner`, named entry.name
};

// Checks the header length against the file, the JSON, every dtype/shape/offset pair, that the
// ranges lie inside the data section and do not overlap. Unsupported dtypes (F8, BOOL, U8...)
// are an Error(unsupported) naming the tensor.
File parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner);
File read_file(const std::filesystem::path& path);

// Writes tensors (under the given names, in the given order) atomically, as Hugging Face's
// safetensors library does: header padded with spaces to a multiple of 8 bytes.
void write_file(const std::filesystem::path& path,
                const std::vector<std::pair<std::string, Tensor>>& tensors,
                const std::map<std::string, std::string>& metadata);

// A Hugging Face model folder's tensors: model.safetensors, or the shards listed in
// model.safetensors.index.json. Keys are the Hugging Face tensor names.
struct Folder {
  nlohmann::ordered_json config;                // config.json
  std::map<std::string, std::string> metadata;  // merged __metadata__ of the files
  std::vector<Tensor> tensors;                  // named with their Hugging Face names
};
Folder read_folder(const std::filesystem::path& dir);

}  // namespace slmkit::safetensors
