// GGUF v2/v3 (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): the container, read
// from an mmap with every field bounds-checked, and written back byte for byte.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/mapped_file.h"
#include "slmkit/dtype.h"
#include "slmkit/tensor.h"

namespace slmkit::gguf {

inline constexpr uint32_t kMaxArrayDepth = 8;      // arrays nested inside arrays, outermost = 1
inline constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS
inline constexpr size_t kMaxTensorNameBytes = 63;  // GGML_MAX_NAME - 1 (its terminating zero)
inline constexpr uint64_t kDefaultAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT

enum class ValueType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};
std::string_view value_type_name(ValueType type);

struct Value;
struct Array {
  ValueType type = ValueType::u8;  // element type; arrays of arrays are allowed
  std::vector<Value> items;
};

struct Value {
  std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string,
               Array, uint64_t, int64_t, double>
      v;

  ValueType type() const;  // from the variant index, which follows ValueType's numbering
  // Checked accessors; each throws Error(invalid_input) naming `key` and the actual type.
  uint64_t as_u64(std::string_view key) const;  // any non-negative integer type
  int64_t as_i64(std::string_view key) const;   // any integer type that fits
  double as_f64(std::string_view key) const;    // any numeric type
  bool as_bool(std::string_view key) const;
  const std::string& as_string(std::string_view key) const;
  const Array& as_array(std::string_view key) const;
};

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // GGUF order: ne[0] is the innermost (contiguous) dimension
  DType type = DType::F32;
  uint64_t offset = 0;   // relative to the start of the data section
  uint64_t n_bytes = 0;  // from type and ne

  Shape shape() const;  // outermost first: the reverse of ne
};

struct File {
  std::string path;  // for messages
  uint32_t version = 3;
  std::vector<KeyValue> kvs;          // in file order
  std::vector<TensorInfo> tensors;    // in file order
  uint64_t alignment = 32;            // general.alignment, or 32
  uint64_t data_offset = 0;           // absolute offset of the data section
  std::shared_ptr<const void> owner;  // keeps `bytes` alive (an mmap or a buffer)
  std::span<const std::byte> bytes;   // the whole file

  const Value* find(std::string_view key) const;
  const TensorInfo* find_tensor(std::string_view name) const;
  std::span<const std::byte> tensor_data(const TensorInfo& info) const;
  Tensor tensor(const TensorInfo& info) const;  // a view sharing `owner`
};

// Parses a GGUF held in memory. Every count, length and offset is checked against the bytes that
// remain before anything is allocated from it; errors name `path`, the field and its offset.
// Versions 2 and 3 (same layout) are read; v1 and big-endian files are Error(unsupported). As in
// llama.cpp, tensors must be stored in order, each at the previous one's end padded to the
// alignment, so any file that parses is written back identically by writer_from(), except that
// non-zero padding and bytes after the last tensor are not kept and a missing final padding is
// added.
File parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner);
File read_file(const std::filesystem::path& path);  // mmap + parse
bool has_magic(std::span<const std::byte> bytes);

// Builds a GGUF: key-values and tensors in the order they are added. Tensor data is aligned to
// `general.alignment` (default 32) and zero-padded after each tensor, as llama.cpp writes it, so
// that writing back a File's kvs and tensors reproduces a file llama.cpp wrote byte for byte.
// A file without tensors ends right after its key-values (no padding), as gguf-py writes
// vocabulary-only files; llama.cpp's C writer would pad that one to the alignment.
class Writer {
 public:
  explicit Writer(uint32_t version = 3) : version_(version) {}
  void set(std::string key, Value value);  // replaces an existing key in place
  void set_string(std::string key, std::string value) {
    set(std::move(key), Value{std::move(value)});
  }
  void set_u32(std::string key, uint32_t v) { set(std::move(key), Value{v}); }
  void set_i32(std::string key, int32_t v) { set(std::move(key), Value{v}); }
  void set_f32(std::string key, float v) { set(std::move(key), Value{v}); }
  void set_bool(std::string key, bool v) { set(std::move(key), Value{v}); }
  void remove(std::string_view key);
  const Value* find(std::string_view key) const;  // nullptr when absent
  // `data` must stay valid until write(); its size must match type and shape. Names must be unique
  // and at most kMaxTensorNameBytes long, or llama.cpp refuses the file.
  void add_tensor(std::string name, DType type, const Shape& shape,
                  std::span<const std::byte> data);
  void add_tensor(const Tensor& tensor);  // keeps the tensor (and its owner) alive
  // A tensor whose bytes are made only when write() reaches it, then written and freed: a file
  // of any size is written holding one tensor's bytes at a time. `produce` must return exactly
  // the bytes `type` and `shape` need; it is called once per write() or to_bytes().
  using Producer = std::function<std::vector<std::byte>()>;
  void add_deferred_tensor(std::string name, DType type, const Shape& shape, Producer produce);

  // Writes to a temporary name beside `path` and renames it into place.
  void write(const std::filesystem::path& path) const;
  std::vector<std::byte> to_bytes() const;  // the same bytes, in memory (tests, fuzzers)

  // What a file's size follows from without its data: the header (key-values and tensor infos,
  // padded to the alignment), the alignment, and each tensor's name and data bytes in order. The
  // file is header().size() + the sum of every tensor's bytes padded to the alignment.
  struct TensorLayout {
    std::string name;
    uint64_t n_bytes = 0;
  };
  std::vector<std::byte> header() const;
  uint64_t alignment() const;
  std::vector<TensorLayout> tensor_layout() const;

 private:
  friend Writer writer_from(const File& file);
  template <typename Sink>
  void emit(Sink& sink) const;
  void add_pending(std::string name, DType type, const Shape& shape,
                   std::span<const std::byte> data, bool deferred);

  struct PendingTensor {
    TensorInfo info;
    std::span<const std::byte> data;
    std::shared_ptr<const void> owner;
    Producer produce;  // set for a deferred tensor (data is then empty)
  };
  uint32_t version_;
  std::vector<KeyValue> kvs_;
  std::vector<PendingTensor> tensors_;
};

// A writer holding exactly `file`'s key-values and tensors, in order.
Writer writer_from(const File& file);

}  // namespace slmkit::gguf
