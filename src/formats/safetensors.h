// safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/tensor.h"

namespace slmkit::safetensors {

// Hugging Face's reader refuses longer headers (safetensors' MAX_HEADER_SIZE).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// The dtype names slmkit reads and writes ("F32", "BF16", "I64", ...); nullopt for the others
// (BOOL, U8..U64, F8_*, ...), which have no DType.
std::optional<DType> parse_dtype(std::string_view name);
std::optional<std::string_view> dtype_spelling(DType type);

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

  const Entry* find(std::string_view name) const;
  Tensor tensor(const Entry& entry) const;  // a view sharing `owner`, named entry.name
};

// Checks the header length against the file, the JSON, every dtype/shape/offset pair, that the
// ranges lie inside the data section and do not overlap. Unsupported dtypes (F8, BOOL, U8...)
// are an Error(unsupported) naming the tensor. Gaps between ranges and bytes after the last one
// are tolerated (Hugging Face's reader rejects them; nothing is lost by reading them).
File parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner);
File read_file(const std::filesystem::path& path);

// Writes tensors (under the given names, in the given order) atomically, as Hugging Face's
// safetensors library does: header padded with spaces to a multiple of 8 bytes. `__metadata__`
// is written first and only when `metadata` is not empty. Rejects duplicate or reserved names
// and dtypes safetensors has no name for (quantized blocks) before creating the file.
void write_file(const std::filesystem::path& path,
                const std::vector<std::pair<std::string, Tensor>>& tensors,
                const std::map<std::string, std::string>& metadata);
// The same bytes, in memory (tests, fuzzers).
std::vector<std::byte> to_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                const std::map<std::string, std::string>& metadata);

// A Hugging Face model folder's tensors: model.safetensors, or the shards listed in
// model.safetensors.index.json. Keys are the Hugging Face tensor names.
struct Folder {
  nlohmann::ordered_json config;                // config.json
  std::map<std::string, std::string> metadata;  // merged __metadata__ of the files
  // Named with their Hugging Face names: shards in file-name order, each in data-offset order.
  std::vector<Tensor> tensors;
};
// config.json is required. model.safetensors is preferred when present (as transformers does);
// otherwise every weight_map entry of the index must name a plain file in `dir` that holds that
// tensor, and every tensor of a shard must be listed in the weight_map.
Folder read_folder(const std::filesystem::path& dir);

}  // namespace slmkit::safetensors
