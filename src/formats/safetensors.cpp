#include "formats/safetensors.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <set>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "core/mapped_file.h"

namespace slmkit::safetensors {
namespace {

struct NamedType {
  std::string_view name;
  DType type;
};

constexpr std::array<NamedType, 8> kTypes = {{
    {"F32", DType::F32},
    {"F16", DType::F16},
    {"BF16", DType::BF16},
    {"F64", DType::F64},
    {"I8", DType::I8},
    {"I16", DType::I16},
    {"I32", DType::I32},
    {"I64", DType::I64},
}};

// Names the safetensors spec defines that have no DType: a valid file slmkit cannot use, which
// is `unsupported` rather than `invalid_input`.
constexpr std::array<std::string_view, 13> kKnownUnsupported = {
    "BOOL",    "U8", "U16",     "U32",     "U64", "F8_E5M2",    "F8_E4M3",
    "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64", "F8_E4M3FNUZ"};

// Far above any real tensor (GGUF allows 4); keeps a hostile shape list from growing a Shape.
constexpr size_t kMaxRank = 16;

const char* json_type(const nlohmann::json& v) {
  return v.type_name();
}

uint64_t read_u64_le(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint64_t>(p[i]);
  return v;
}

// A non-negative JSON integer, or an error naming the tensor and the field.
uint64_t unsigned_field(const nlohmann::json& v, const std::string& path, const std::string& name,
                        std::string_view field) {
  if (!v.is_number_unsigned()) {
    const std::string found = v.is_number_integer() ? "negative integer " + v.dump()
                                                    : std::string(json_type(v)) + " " + v.dump();
    fail_invalid("{}: tensor '{}': {} must hold non-negative integers, found {}", path, name, field,
                 found);
  }
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& info,
                  uint64_t data_bytes) {
  if (!info.is_object()) {
    fail_invalid("{}: tensor '{}': expected an object with dtype, shape and data_offsets, found {}",
                 path, name, json_type(info));
  }
  auto field = [&](const char* key) -> const nlohmann::json& {
    auto it = info.find(key);
    if (it == info.end()) fail_invalid("{}: tensor '{}': missing field '{}'", path, name, key);
    return *it;
  };
  const nlohmann::json& dtype_json = field("dtype");
  const nlohmann::json& shape_json = field("shape");
  const nlohmann::json& offsets_json = field("data_offsets");

  if (!dtype_json.is_string()) {
    fail_invalid("{}: tensor '{}': dtype must be a string, found {}", path, name,
                 json_type(dtype_json));
  }
  const auto& dtype_text = dtype_json.get_ref<const std::string&>();
  Entry e;
  e.name = name;
  if (auto t = parse_dtype(dtype_text)) {
    e.dtype = *t;
  } else if (std::find(kKnownUnsupported.begin(), kKnownUnsupported.end(), dtype_text) !=
             kKnownUnsupported.end()) {
    fail_unsupported(
        "{}: tensor '{}': dtype {} is not supported (slmkit reads F32, F16, BF16, "
        "F64, I8, I16, I32, I64)",
        path, name, dtype_text);
  } else {
    fail_invalid("{}: tensor '{}': unknown dtype '{}'", path, name, dtype_text);
  }

  if (!shape_json.is_array()) {
    fail_invalid("{}: tensor '{}': shape must be an array, found {}", path, name,
                 json_type(shape_json));
  }
  if (shape_json.size() > kMaxRank) {
    fail_unsupported("{}: tensor '{}': {} dimensions, slmkit handles at most {}", path, name,
                     shape_json.size(), kMaxRank);
  }
  e.shape.reserve(shape_json.size());
  for (const auto& d : shape_json) {
    const uint64_t v = unsigned_field(d, path, name, "shape");
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail_invalid("{}: tensor '{}': dimension {} is too large", path, name, v);
    }
    e.shape.push_back(static_cast<int64_t>(v));
  }

  if (!offsets_json.is_array() || offsets_json.size() != 2) {
    fail_invalid("{}: tensor '{}': data_offsets must be an array of 2 integers, found {}", path,
                 name, offsets_json.dump());
  }
  e.begin = unsigned_field(offsets_json[0], path, name, "data_offsets");
  e.end = unsigned_field(offsets_json[1], path, name, "data_offsets");
  if (e.begin > e.end) {
    fail_invalid("{}: tensor '{}': data_offsets [{}, {}] end before they begin", path, name,
                 e.begin, e.end);
  }
  if (e.end > data_bytes) {
    fail_invalid(
        "{}: tensor '{}': data_offsets [{}, {}] run past the end of the data section "
        "({} bytes)",
        path, name, e.begin, e.end, data_bytes);
  }
  const uint64_t expected = tensor_bytes(e.dtype, e.shape, path + ": tensor '" + name + "'");
  if (expected != e.end - e.begin) {
    fail_invalid("{}: tensor '{}': {} {} needs {} bytes, data_offsets [{}, {}] hold {}", path, name,
                 dtype_text, shape_string(e.shape), expected, e.begin, e.end, e.end - e.begin);
  }
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path,
                                                  const nlohmann::json& meta) {
  if (!meta.is_object()) {
    fail_invalid("{}: __metadata__ must be an object of strings, found {}", path, json_type(meta));
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string()) {
      fail_invalid("{}: __metadata__ key '{}' must be a string, found {}", path, key,
                   json_type(value));
    }
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

// The header text, already padded; also checks the tensors so nothing is created on failure.
std::string build_header(const std::vector<std::pair<std::string, Tensor>>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  std::set<std::string_view> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") fail_invalid("safetensors: '__metadata__' is not a tensor name");
    if (!seen.insert(name).second) fail_invalid("safetensors: tensor '{}' appears twice", name);
    auto type_name = dtype_spelling(tensor.dtype());
    if (!type_name) {
      fail_unsupported("safetensors: tensor '{}' is {}, which safetensors cannot store", name,
                       slmkit::dtype_name(tensor.dtype()));
    }
    nlohmann::ordered_json info;
    info["dtype"] = std::string(*type_name);
    info["shape"] = tensor.shape();
    info["data_offsets"] = {offset, offset + tensor.n_bytes()};
    offset += tensor.n_bytes();
    header[name] = std::move(info);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

std::array<std::byte, 8> u64_le(uint64_t v) {
  std::array<std::byte, 8> out{};
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
  return out;
}

}  // namespace

std::optional<DType> parse_dtype(std::string_view name) {
  for (const NamedType& t : kTypes) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

std::optional<std::string_view> dtype_spelling(DType type) {
  for (const NamedType& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return std::nullopt;
}

const Entry* File::find(std::string_view name) const {
  for (const Entry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

Tensor File::tensor(const Entry& entry) const {
  if (entry.end < entry.begin || data_offset > bytes.size() ||
      entry.end > bytes.size() - data_offset) {
    fail(ErrorKind::internal, "{}: tensor '{}' lies outside the file", path, entry.name);
  }
  return Tensor(entry.name, entry.dtype, entry.shape, bytes.data() + data_offset + entry.begin,
                static_cast<size_t>(entry.end - entry.begin), owner);
}

File parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner) {
  File file;
  file.path = std::move(path);
  file.owner = std::move(owner);
  file.bytes = bytes;
  const std::string& p = file.path;
  if (bytes.size() < 8) {
    fail_invalid("{}: {} bytes is too short for a safetensors file (8-byte header length)", p,
                 bytes.size());
  }
  const uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxHeaderBytes) {
    fail_invalid("{}: header length {} at offset 0 exceeds the {} byte limit", p, header_len,
                 kMaxHeaderBytes);
  }
  if (header_len > bytes.size() - 8) {
    fail_invalid("{}: header length {} at offset 0 runs past the end of the file ({} bytes)", p,
                 header_len, bytes.size());
  }
  if (header_len < 2) fail_invalid("{}: header length {} cannot hold a JSON object", p, header_len);
  file.data_offset = 8 + header_len;
  const uint64_t data_bytes = bytes.size() - file.data_offset;

  const char* text = reinterpret_cast<const char*>(bytes.data() + 8);
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows; JSON
  // never holds a raw NUL, so one is an error here as in Hugging Face's reader.
  if (const void* nul = std::memchr(text, 0, header_len)) {
    fail_invalid("{}: NUL byte in the header JSON at offset {}", p,
                 8 + (static_cast<const char*>(nul) - text));
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + header_len);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1 within the header text; the header starts at file offset 8.
    fail_invalid("{}: header JSON is malformed near offset {}: {}", p,
                 8 + (e.byte ? e.byte - 1 : 0), e.what());
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: header JSON is malformed: {}", p, e.what());
  }
  if (!header.is_object()) {
    fail_invalid("{}: header at offset 8 must be a JSON object, found {}", p, json_type(header));
  }

  file.entries.reserve(header.size());
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      file.metadata = parse_metadata(p, info);
      continue;
    }
    file.entries.push_back(parse_entry(p, name, info, data_bytes));
  }
  std::sort(file.entries.begin(), file.entries.end(), [](const Entry& a, const Entry& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  for (size_t i = 1; i < file.entries.size(); ++i) {
    const Entry& prev = file.entries[i - 1];
    const Entry& cur = file.entries[i];
    if (cur.begin < prev.end) {
      fail_invalid("{}: tensor '{}' [{}, {}] overlaps tensor '{}' [{}, {}]", p, cur.name, cur.begin,
                   cur.end, prev.name, prev.begin, prev.end);
    }
  }
  return file;
}

File read_file(const std::filesystem::path& path) {
  auto mapped = MappedFile::open(path);
  auto span = mapped->bytes();
  return parse(span, path.string(), std::shared_ptr<const void>(mapped, mapped.get()));
}

std::vector<std::byte> to_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                const std::map<std::string, std::string>& metadata) {
  const std::string header = build_header(tensors, metadata);
  size_t total = 8 + header.size();
  for (const auto& [name, tensor] : tensors) total += tensor.n_bytes();
  // Sized once and filled with memcpy: GCC 12 misreads growing inserts here as overflows.
  std::vector<std::byte> out(total);
  const auto len = u64_le(header.size());
  std::memcpy(out.data(), len.data(), 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  size_t at = 8 + header.size();
  for (const auto& [name, tensor] : tensors) {
    if (tensor.n_bytes()) std::memcpy(out.data() + at, tensor.data(), tensor.n_bytes());
    at += tensor.n_bytes();
  }
  return out;
}

void write_file(const std::filesystem::path& path,
                const std::vector<std::pair<std::string, Tensor>>& tensors,
                const std::map<std::string, std::string>& metadata) {
  const std::string header = build_header(tensors, metadata);
  AtomicFile out(path);
  const auto len = u64_le(header.size());
  out.write(len.data(), len.size());
  out.write(std::string_view(header));
  for (const auto& [name, tensor] : tensors) out.write(tensor.bytes());
  out.commit();
}

}  // namespace slmkit::safetensors
