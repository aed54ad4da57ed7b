// GGUF parsing. Layout (all little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv, the
// key-values, the tensor infos, zero padding to the alignment, then the tensor data, each tensor
// at an aligned offset relative to the start of the data section.
#include <bit>
#include <limits>
#include <unordered_set>

#include "core/byte_reader.h"
#include "core/fail.h"
#include "formats/gguf.h"

namespace slmkit::gguf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the reader copies little-endian fields as they are");

constexpr uint32_t kMaxValueType = static_cast<uint32_t>(ValueType::f64);

// The smallest encodings, used to check that a count read from the file can fit in the bytes that
// remain before anything is allocated from it.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;          // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims = 0, type, offset

uint64_t min_encoded_bytes(ValueType type) {
  switch (type) {
    case ValueType::u8:
    case ValueType::i8:
    case ValueType::boolean:
      return 1;
    case ValueType::u16:
    case ValueType::i16:
      return 2;
    case ValueType::u32:
    case ValueType::i32:
    case ValueType::f32:
      return 4;
    case ValueType::u64:
    case ValueType::i64:
    case ValueType::f64:
    case ValueType::string:
      return 8;  // a string's length field
    case ValueType::array:
      return 12;  // element type + count
  }
  return 1;
}

uint64_t align_up(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// Appends where an error happened (which kv, tensor or array element) while keeping its kind.
[[noreturn]] void rethrow_in(const Error& e, const std::string& where) {
  throw Error(e.kind(), fmt::format("{} (in {})", e.what(), where));
}

class Parser {
 public:
  Parser(std::span<const std::byte> bytes, const std::string& path)
      : r_(bytes, path), path_(path) {}

  void run(File& file) {
    read_header(file);
    read_kvs(file);
    read_alignment(file);
    read_tensor_infos(file);
    place_tensors(file);
  }

 private:
  void read_header(File& file) {
    auto magic = r_.bytes(4, "magic");
    if (!has_magic(magic)) {
      fail_invalid(
          "{}: not a GGUF file: magic at offset 0 is {:02x} {:02x} {:02x} {:02x}, expected "
          "47 47 55 46 ('GGUF')",
          path_, std::to_integer<int>(magic[0]), std::to_integer<int>(magic[1]),
          std::to_integer<int>(magic[2]), std::to_integer<int>(magic[3]));
    }
    const uint32_t version = r_.read<uint32_t>("version");
    if (version != 0 && (version & 0xffffu) == 0) {
      fail_unsupported(
          "{}: version field at offset 4 reads {:#010x}, which is version {} "
          "byte-swapped: a big-endian GGUF; only little-endian files are supported",
          path_, version, __builtin_bswap32(version));
    }
    if (version == 1) {
      fail_unsupported(
          "{}: GGUF version 1 (offset 4) is not supported; expected 2 or 3 "
          "(re-convert the model with a current llama.cpp)",
          path_);
    }
    if (version != 2 && version != 3) {
      fail_invalid("{}: GGUF version {} at offset 4; expected 2 or 3", path_, version);
    }
    file.version = version;

    n_tensors_ = r_.read<uint64_t>("tensor count");
    n_kv_ = r_.read<uint64_t>("key-value count");
    const uint64_t left = r_.remaining();
    if (n_kv_ > left / kMinKvBytes) {
      fail_invalid(
          "{}: key-value count {} at offset 16 cannot fit: each takes at least {} bytes "
          "and {} bytes follow the header",
          path_, n_kv_, kMinKvBytes, left);
    }
    if (n_tensors_ > left / kMinTensorInfoBytes ||
        n_kv_ * kMinKvBytes > left - n_tensors_ * kMinTensorInfoBytes) {
      fail_invalid(
          "{}: tensor count {} at offset 8 cannot fit: each tensor info takes at least {} "
          "bytes, the {} key-values at least {}, and {} bytes follow the header",
          path_, n_tensors_, kMinTensorInfoBytes, n_kv_, n_kv_ * kMinKvBytes, left);
    }
  }

  std::string_view read_string(std::string_view field) {
    const uint64_t n = r_.read<uint64_t>(field);
    return r_.string(n, field);
  }

  void read_kvs(File& file) {
    file.kvs.reserve(static_cast<size_t>(n_kv_));
    kv_offsets_.reserve(static_cast<size_t>(n_kv_));
    std::unordered_set<std::string_view> seen;
    for (uint64_t i = 0; i < n_kv_; ++i) {
      const size_t start = r_.offset();
      std::string_view key;
      try {
        key = read_string("key");
        if (key.empty()) {
          fail_invalid("{}: offset {}: empty key", path_, start);
        }
        if (!seen.insert(key).second) {
          fail_invalid("{}: offset {}: duplicate key '{}'", path_, start, key);
        }
        const ValueType type = read_type("value type");
        file.kvs.push_back(KeyValue{std::string(key), read_value(type, 0)});
        kv_offsets_.push_back(start);
      } catch (const Error& e) {
        rethrow_in(e, key.empty() ? fmt::format("key-value {} of {} at offset {}", i, n_kv_, start)
                                  : fmt::format("key '{}', key-value {} of {} at offset {}", key, i,
                                                n_kv_, start));
      }
    }
  }

  ValueType read_type(std::string_view field) {
    const size_t at = r_.offset();
    const uint32_t raw = r_.read<uint32_t>(field);
    if (raw > kMaxValueType) {
      fail_invalid("{}: offset {}: {} {} is not a GGUF value type (0-{})", path_, at, field, raw,
                   kMaxValueType);
    }
    return static_cast<ValueType>(raw);
  }

  Value read_value(ValueType type, uint32_t depth) {
    switch (type) {
      case ValueType::u8:
        return Value{r_.read<uint8_t>("u8 value")};
      case ValueType::i8:
        return Value{r_.read<int8_t>("i8 value")};
      case ValueType::u16:
        return Value{r_.read<uint16_t>("u16 value")};
      case ValueType::i16:
        return Value{r_.read<int16_t>("i16 value")};
      case ValueType::u32:
        return Value{r_.read<uint32_t>("u32 value")};
      case ValueType::i32:
        return Value{r_.read<int32_t>("i32 value")};
      case ValueType::f32:
        return Value{r_.read<float>("f32 value")};
      case ValueType::u64:
        return Value{r_.read<uint64_t>("u64 value")};
      case ValueType::i64:
        return Value{r_.read<int64_t>("i64 value")};
      case ValueType::f64:
        return Value{r_.read<double>("f64 value")};
      case ValueType::boolean: {
        const size_t at = r_.offset();
        const uint8_t b = r_.read<uint8_t>("bool value");
        // Only 0 and 1 survive a rewrite unchanged, and the spec allows no others.
        if (b > 1) fail_invalid("{}: offset {}: bool value is {}, expected 0 or 1", path_, at, b);
        return Value{b == 1};
      }
      case ValueType::string:
        return Value{std::string(read_string("string"))};
      case ValueType::array:
        return Value{read_array(depth + 1)};
    }
    fail(ErrorKind::internal, "{}: unhandled value type {}", path_, static_cast<uint32_t>(type));
  }

  Array read_array(uint32_t depth) {
    const size_t start = r_.offset();
    if (depth > kMaxArrayDepth) {
      fail_invalid("{}: offset {}: arrays nested {} deep; at most {} are accepted", path_, start,
                   depth, kMaxArrayDepth);
    }
    Array array;
    array.type = read_type("array element type");
    const uint64_t n = r_.read<uint64_t>("array length");
    const uint64_t min_bytes = min_encoded_bytes(array.type);
    if (n > r_.remaining() / min_bytes) {
      fail_invalid(
          "{}: offset {}: array of {} {} values needs at least {} bytes per element, but "
          "only {} bytes remain",
          path_, start + 4, n, value_type_name(array.type), min_bytes, r_.remaining());
    }
    array.items.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      try {
        array.items.push_back(read_value(array.type, depth));
      } catch (const Error& e) {
        rethrow_in(e, fmt::format("element {} of {}", i, n));
      }
    }
    return array;
  }

  void read_alignment(File& file) {
    file.alignment = kDefaultAlignment;
    for (size_t i = 0; i < file.kvs.size(); ++i) {
      if (file.kvs[i].key != "general.alignment") continue;
      const Value& value = file.kvs[i].value;
      if (value.type() != ValueType::u32) {
        fail_invalid("{}: key 'general.alignment' at offset {}: expected u32, found {}", path_,
                     kv_offsets_[i], value_type_name(value.type()));
      }
      const uint32_t alignment = std::get<uint32_t>(value.v);
      if (!std::has_single_bit(alignment)) {
        fail_invalid("{}: key 'general.alignment' at offset {}: {} is not a power of two", path_,
                     kv_offsets_[i], alignment);
      }
      file.alignment = alignment;
    }
  }

  void read_tensor_infos(File& file) {
    const uint64_t left = r_.remaining();
    if (n_tensors_ > left / kMinTensorInfoBytes) {
      fail_invalid("{}: offset {}: {} tensor infos need at least {} bytes each, {} bytes remain",
                   path_, r_.offset(), n_tensors_, kMinTensorInfoBytes, left);
    }
    file.tensors.reserve(static_cast<size_t>(n_tensors_));
    std::unordered_set<std::string_view> seen;
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      const size_t start = r_.offset();
      std::string_view name;
      try {
        name = read_string("tensor name");
        if (!seen.insert(name).second) {
          fail_invalid("{}: offset {}: duplicate tensor name '{}'", path_, start, name);
        }
        file.tensors.push_back(read_tensor_info(name));
      } catch (const Error& e) {
        rethrow_in(e,
                   fmt::format("tensor info {} of {} at offset {}{}", i, n_tensors_, start,
                               name.empty() ? std::string() : fmt::format(", tensor '{}'", name)));
      }
    }
  }

  TensorInfo read_tensor_info(std::string_view name) {
    TensorInfo info;
    info.name = std::string(name);
    const size_t dims_at = r_.offset();
    const uint32_t n_dims = r_.read<uint32_t>("n_dims");
    if (n_dims > kMaxDims) {
      fail_invalid("{}: offset {}: tensor has {} dimensions, at most {} are allowed", path_,
                   dims_at, n_dims, kMaxDims);
    }
    info.ne.reserve(n_dims);
    bool has_zero = false;
    uint64_t n_elements = 1;
    for (uint32_t j = 0; j < n_dims; ++j) {
      const size_t at = r_.offset();
      const uint64_t d = r_.read<uint64_t>("dimension");
      constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      if (d > kMax) {
        fail_invalid("{}: offset {}: ne[{}] = {} is negative as int64", path_, at, j, d);
      }
      if (d == 0) has_zero = true;
      // llama.cpp counts elements in int64; reject products it could not represent.
      if (!has_zero && n_elements > kMax / d) {
        fail_invalid("{}: offset {}: element count overflows int64 at ne[{}] = {}", path_, at, j,
                     d);
      }
      if (!has_zero) n_elements *= d;
      info.ne.push_back(d);
    }
    const size_t type_at = r_.offset();
    const uint32_t type_id = r_.read<uint32_t>("tensor type");
    if (!dtype_traits(type_id)) {
      constexpr uint32_t kNewestKnown = static_cast<uint32_t>(DType::MXFP4);
      if (type_id > kNewestKnown) {
        fail_unsupported(
            "{}: offset {}: tensor type id {} is newer than the GGML types slmkit "
            "knows (up to {})",
            path_, type_at, type_id, kNewestKnown);
      }
      fail_invalid("{}: offset {}: tensor type id {} is not a GGML type (retired or unassigned)",
                   path_, type_at, type_id);
    }
    info.type = static_cast<DType>(type_id);
    try {
      info.n_bytes = tensor_bytes(info.type, info.shape(), fmt::format("tensor '{}'", name));
    } catch (const Error& e) {
      fail(e.kind(), "{}: offset {}: {}", path_, dims_at, e.what());
    }
    offset_fields_.push_back(r_.offset());
    info.offset = r_.read<uint64_t>("tensor data offset");
    return info;
  }

  void place_tensors(File& file) {
    const uint64_t infos_end = r_.offset();
    const uint64_t size = r_.size();
    // As in llama.cpp, a file without tensors has no data section and no padding before it.
    file.data_offset = file.tensors.empty() ? infos_end : align_up(infos_end, file.alignment);
    if (file.data_offset > size) {
      fail_invalid(
          "{}: truncated: the tensor infos end at offset {} and the data section should "
          "start at {} (aligned to {}), but the file has {} bytes",
          path_, infos_end, file.data_offset, file.alignment, size);
    }
    const uint64_t data_bytes = size - file.data_offset;
    uint64_t expected = 0;
    for (size_t i = 0; i < file.tensors.size(); ++i) {
      const TensorInfo& t = file.tensors[i];
      if (t.offset % file.alignment != 0) {
        fail_invalid(
            "{}: tensor '{}': data offset {} (field at offset {}) is not a multiple of "
            "the alignment {}",
            path_, t.name, t.offset, offset_fields_[i], file.alignment);
      }
      if (t.offset != expected) {
        fail_invalid(
            "{}: tensor '{}': data offset {} (field at offset {}), expected {}: tensors "
            "must follow each other, each padded to {} bytes",
            path_, t.name, t.offset, offset_fields_[i], expected, file.alignment);
      }
      if (t.offset > data_bytes || t.n_bytes > data_bytes - t.offset) {
        fail_invalid(
            "{}: truncated: tensor '{}' ({} {} bytes) spans file offsets {} to {}, but "
            "the file has {} bytes",
            path_, t.name, dtype_name(t.type), t.n_bytes, file.data_offset + t.offset,
            file.data_offset + t.offset + t.n_bytes, size);
      }
      // Both terms are at most the file size, so this cannot overflow.
      expected = t.offset + align_up(t.n_bytes, file.alignment);
    }
  }

  ByteReader r_;
  const std::string& path_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  std::vector<size_t> kv_offsets_;
  std::vector<size_t> offset_fields_;
};

}  // namespace

File parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner) {
  File file;
  file.path = std::move(path);
  Parser(bytes, file.path).run(file);
  file.owner = std::move(owner);
  file.bytes = bytes;
  return file;
}

}  // namespace slmkit::gguf
