// Hugging Face model folders: config.json plus one safetensors file or an index of shards.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/fail.h"
#include "formats/safetensors.h"
#include "slmkit/files.h"

namespace slmkit::safetensors {
namespace {

namespace fs = std::filesystem;

nlohmann::ordered_json read_json(const fs::path& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail_invalid("{}: malformed JSON near offset {}: {}", path.string(), e.byte ? e.byte - 1 : 0,
                 e.what());
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: malformed JSON: {}", path.string(), e.what());
  }
}

// Shard names come from a file someone else wrote; only plain names inside `dir` are followed.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of("/\\") == std::string::npos;
}

void add_file(Folder& folder, const File& file) {
  for (const Entry& e : file.entries) folder.tensors.push_back(file.tensor(e));
  folder.metadata.insert(file.metadata.begin(), file.metadata.end());  // the first file wins
}

void read_shards(Folder& folder, const fs::path& dir, const fs::path& index_path) {
  const std::string index_name = index_path.string();
  const nlohmann::ordered_json index = read_json(index_path);
  if (!index.is_object()) {
    fail_invalid("{}: expected a JSON object, found {}", index_name, index.type_name());
  }
  auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object()) {
    fail_invalid("{}: missing 'weight_map' object", index_name);
  }
  std::map<std::string, std::string> shard_of;                 // tensor -> shard
  std::map<std::string, std::vector<std::string>> tensors_of;  // shard -> tensors, by file name
  for (const auto& [name, shard] : it->items()) {
    if (!shard.is_string()) {
      fail_invalid("{}: weight_map['{}'] must be a file name, found {}", index_name, name,
                   shard.type_name());
    }
    const auto& shard_name = shard.get_ref<const std::string&>();
    if (!is_plain_file_name(shard_name)) {
      fail_invalid("{}: weight_map['{}'] = '{}' is not a plain file name in the folder", index_name,
                   name, shard_name);
    }
    shard_of.emplace(name, shard_name);
    tensors_of[shard_name].push_back(name);
  }
  if (tensors_of.empty()) fail_invalid("{}: weight_map lists no tensors", index_name);

  for (const auto& [shard_name, names] : tensors_of) {
    const fs::path shard_path = dir / shard_name;
    if (!fs::exists(shard_path)) {
      fail_invalid("{}: shard '{}' (holding '{}' and {} more tensors) is missing at {}", index_name,
                   shard_name, names.front(), names.size() - 1, shard_path.string());
    }
    const File file = read_file(shard_path);
    std::set<std::string_view> present;
    for (const Entry& e : file.entries) {
      auto mapped = shard_of.find(e.name);
      if (mapped == shard_of.end()) {
        fail_invalid("{}: tensor '{}' is not listed in {}'s weight_map", file.path, e.name,
                     index_name);
      }
      if (mapped->second != shard_name) {
        fail_invalid("{}: tensor '{}' is here, but {} maps it to '{}'", file.path, e.name,
                     index_name, mapped->second);
      }
      present.insert(e.name);
    }
    for (const std::string& name : names) {
      if (!present.count(name)) {
        fail_invalid("{}: tensor '{}' is not in shard '{}' where {} maps it", file.path, name,
                     shard_name, index_name);
      }
    }
    add_file(folder, file);
  }
}

}  // namespace

Folder read_folder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail_io("{}: not a directory", dir.string());
  Folder folder;
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path)) {
    fail_invalid("{}: config.json is missing (a Hugging Face model folder needs it)", dir.string());
  }
  folder.config = read_json(config_path);
  if (!folder.config.is_object()) {
    fail_invalid("{}: expected a JSON object, found {}", config_path.string(),
                 folder.config.type_name());
  }

  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(single)) {
    add_file(folder, read_file(single));
  } else if (fs::exists(index)) {
    read_shards(folder, dir, index);
  } else {
    fail_invalid("{}: holds neither model.safetensors nor model.safetensors.index.json",
                 dir.string());
  }
  return folder;
}

}  // namespace slmkit::safetensors
