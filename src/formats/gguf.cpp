// GGUF values and the File accessors; parsing is in gguf_read.cpp, writing in gguf_write.cpp.
#include "formats/gguf.h"

#include <limits>

#include "core/fail.h"

namespace slmkit::gguf {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::u8:
      return "u8";
    case ValueType::i8:
      return "i8";
    case ValueType::u16:
      return "u16";
    case ValueType::i16:
      return "i16";
    case ValueType::u32:
      return "u32";
    case ValueType::i32:
      return "i32";
    case ValueType::f32:
      return "f32";
    case ValueType::boolean:
      return "bool";
    case ValueType::string:
      return "string";
    case ValueType::array:
      return "array";
    case ValueType::u64:
      return "u64";
    case ValueType::i64:
      return "i64";
    case ValueType::f64:
      return "f64";
  }
  return "unknown";
}

ValueType Value::type() const {
  return static_cast<ValueType>(v.index());
}

namespace {

// "array of string" reads better in a message than "array".
std::string describe(const Value& value) {
  if (const auto* a = std::get_if<Array>(&value.v)) {
    return fmt::format("array of {}", value_type_name(a->type));
  }
  return std::string(value_type_name(value.type()));
}

}  // namespace

uint64_t Value::as_u64(std::string_view key) const {
  return std::visit(
      [&](const auto& x) -> uint64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          if constexpr (std::is_signed_v<T>) {
            if (x < 0) fail_invalid("key '{}': expected a non-negative integer, found {}", key, x);
          }
          return static_cast<uint64_t>(x);
        } else {
          fail_invalid("key '{}': expected an unsigned integer, found {}", key, describe(*this));
        }
      },
      v);
}

int64_t Value::as_i64(std::string_view key) const {
  return std::visit(
      [&](const auto& x) -> int64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          if constexpr (std::is_same_v<T, uint64_t>) {
            if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
              fail_invalid("key '{}': value {} does not fit in a signed 64-bit integer", key, x);
            }
          }
          return static_cast<int64_t>(x);
        } else {
          fail_invalid("key '{}': expected an integer, found {}", key, describe(*this));
        }
      },
      v);
}

double Value::as_f64(std::string_view key) const {
  return std::visit(
      [&](const auto& x) -> double {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<double>(x);
        } else {
          fail_invalid("key '{}': expected a number, found {}", key, describe(*this));
        }
      },
      v);
}

bool Value::as_bool(std::string_view key) const {
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  fail_invalid("key '{}': expected bool, found {}", key, describe(*this));
}

const std::string& Value::as_string(std::string_view key) const {
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  fail_invalid("key '{}': expected string, found {}", key, describe(*this));
}

const Array& Value::as_array(std::string_view key) const {
  if (const Array* a = std::get_if<Array>(&v)) return *a;
  fail_invalid("key '{}': expected array, found {}", key, describe(*this));
}

Shape TensorInfo::shape() const {
  Shape s;
  s.reserve(ne.size());
  for (auto it = ne.rbegin(); it != ne.rend(); ++it) s.push_back(static_cast<int64_t>(*it));
  return s;
}

const Value* File::find(std::string_view key) const {
  for (const KeyValue& kv : kvs) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  for (const TensorInfo& info : tensors) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::span<const std::byte> File::tensor_data(const TensorInfo& info) const {
  // parse() has checked these bounds for its own infos; an info from elsewhere gets checked here.
  const uint64_t size = bytes.size();
  if (data_offset > size || info.offset > size - data_offset ||
      info.n_bytes > size - data_offset - info.offset) {
    fail(ErrorKind::internal, "{}: tensor '{}' ({} bytes at data offset {}) is outside the file",
         path, info.name, info.n_bytes, info.offset);
  }
  return bytes.subspan(static_cast<size_t>(data_offset + info.offset),
                       static_cast<size_t>(info.n_bytes));
}

Tensor File::tensor(const TensorInfo& info) const {
  auto data = tensor_data(info);
  return Tensor(info.name, info.type, info.shape(), data.data(), data.size(), owner);
}

File read_file(const std::filesystem::path& path) {
  std::shared_ptr<const MappedFile> mapped = MappedFile::open(path);
  auto bytes = mapped->bytes();
  return parse(bytes, path.string(), std::shared_ptr<const void>(mapped, mapped.get()));
}

bool has_magic(std::span<const std::byte> bytes) {
  return bytes.size() >= 4 && bytes[0] == std::byte{'G'} && bytes[1] == std::byte{'G'} &&
         bytes[2] == std::byte{'U'} && bytes[3] == std::byte{'F'};
}

}  // namespace slmkit::gguf
