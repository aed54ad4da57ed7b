// GGUF writing, in the layout of llama.cpp's gguf_write_to_file (ggml/src/gguf.cpp) and gguf-py's
// GGUFWriter: header, key-values, tensor infos, zero padding to the alignment, then each tensor's
// data followed by zero padding to the alignment.
#include <algorithm>
#include <bit>
#include <cstring>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "formats/gguf.h"

namespace slmkit::gguf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the writer copies fields in host order, which must be little-endian");

class Buffer {
 public:
  template <typename T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &v, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes_.insert(bytes_.end(), p, p + s.size());
  }
  void pad_to(uint64_t alignment) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment, std::byte{0});
  }
  std::vector<std::byte>& bytes() { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// Elements follow their array's declared type; nested arrays carry their own type and count but,
// as in gguf-py, no per-element type tag.
void put_value(Buffer& out, const Value& value, const std::string& key, uint32_t depth) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          out.put<uint8_t>(x ? 1 : 0);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out.put_string(x);
        } else if constexpr (std::is_same_v<T, Array>) {
          if (depth + 1 > kMaxArrayDepth) {
            fail_invalid("key '{}': arrays nested more than {} deep", key, kMaxArrayDepth);
          }
          out.put<uint32_t>(static_cast<uint32_t>(x.type));
          out.put<uint64_t>(x.items.size());
          for (size_t i = 0; i < x.items.size(); ++i) {
            if (x.items[i].type() != x.type) {
              fail_invalid("key '{}': element {} of an array of {} is {}", key, i,
                           value_type_name(x.type), value_type_name(x.items[i].type()));
            }
            put_value(out, x.items[i], key, depth + 1);
          }
        } else {
          out.put<T>(x);
        }
      },
      value.v);
}

uint64_t alignment_of(const std::vector<KeyValue>& kvs) {
  for (const KeyValue& kv : kvs) {
    if (kv.key != "general.alignment") continue;
    const auto* a = std::get_if<uint32_t>(&kv.value.v);
    if (!a) {
      fail_invalid("key 'general.alignment': expected u32, found {}",
                   value_type_name(kv.value.type()));
    }
    if (!std::has_single_bit(*a)) {
      fail_invalid("key 'general.alignment': {} is not a power of two", *a);
    }
    return *a;
  }
  return kDefaultAlignment;
}

struct VectorSink {
  std::vector<std::byte>& out;
  void write(std::span<const std::byte> b) { out.insert(out.end(), b.begin(), b.end()); }
  void write_zeros(size_t n) { out.resize(out.size() + n, std::byte{0}); }
};

struct FileSink {
  AtomicFile& out;
  void write(std::span<const std::byte> b) { out.write(b); }
  void write_zeros(size_t n) { out.write_zeros(n); }
};

}  // namespace

void Writer::set(std::string key, Value value) {
  if (key.empty()) fail_invalid("GGUF writer: empty key");
  for (KeyValue& kv : kvs_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  kvs_.push_back(KeyValue{std::move(key), std::move(value)});
}

void Writer::remove(std::string_view key) {
  std::erase_if(kvs_, [&](const KeyValue& kv) { return kv.key == key; });
}

const Value* Writer::find(std::string_view key) const {
  for (const KeyValue& kv : kvs_) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

void Writer::add_tensor(std::string name, DType type, const Shape& shape,
                        std::span<const std::byte> data) {
  add_pending(std::move(name), type, shape, data, false);
}

void Writer::add_deferred_tensor(std::string name, DType type, const Shape& shape,
                                 Producer produce) {
  if (!produce) fail_invalid("GGUF writer: deferred tensor '{}' without a producer", name);
  add_pending(std::move(name), type, shape, {}, true);
  tensors_.back().produce = std::move(produce);
}

void Writer::add_pending(std::string name, DType type, const Shape& shape,
                         std::span<const std::byte> data, bool deferred) {
  if (name.size() > kMaxTensorNameBytes) {
    fail_invalid("GGUF writer: tensor name '{}' has {} bytes; llama.cpp accepts at most {}", name,
                 name.size(), kMaxTensorNameBytes);
  }
  if (shape.size() > kMaxDims) {
    fail_invalid("GGUF writer: tensor '{}' has {} dimensions; GGUF allows at most {}", name,
                 shape.size(), kMaxDims);
  }
  for (const PendingTensor& t : tensors_) {
    if (t.info.name == name) fail_invalid("GGUF writer: duplicate tensor name '{}'", name);
  }
  PendingTensor t;
  t.info.n_bytes = tensor_bytes(type, shape, "GGUF writer: tensor '" + name + "'");
  if (data.size() != t.info.n_bytes && !deferred) {
    fail_invalid("GGUF writer: tensor '{}': {} {} needs {} bytes, given {}", name, dtype_name(type),
                 shape_string(shape), t.info.n_bytes, data.size());
  }
  // ne is the reverse of the shape; a scalar is written as one element of one dimension, as
  // llama.cpp's ggml_n_dims() does.
  t.info.ne.assign(shape.rbegin(), shape.rend());
  if (t.info.ne.empty()) t.info.ne.push_back(1);
  t.info.name = std::move(name);
  t.info.type = type;
  t.data = data;
  tensors_.push_back(std::move(t));
}

void Writer::add_tensor(const Tensor& tensor) {
  add_tensor(tensor.name(), tensor.dtype(), tensor.shape(), tensor.bytes());
  tensors_.back().owner = tensor.owner();
}

namespace {
uint64_t padded_size(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}
}  // namespace

std::vector<std::byte> Writer::header() const {
  if (version_ != 2 && version_ != 3) {
    fail_invalid("GGUF writer: version {} cannot be written; expected 2 or 3", version_);
  }
  const uint64_t alignment = alignment_of(kvs_);
  Buffer meta;
  meta.put<uint32_t>(0x46554747u);  // "GGUF"
  meta.put<uint32_t>(version_);
  meta.put<uint64_t>(tensors_.size());
  meta.put<uint64_t>(kvs_.size());
  for (const KeyValue& kv : kvs_) {
    meta.put_string(kv.key);
    meta.put<uint32_t>(static_cast<uint32_t>(kv.value.type()));
    put_value(meta, kv.value, kv.key, 0);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    meta.put_string(t.info.name);
    meta.put<uint32_t>(static_cast<uint32_t>(t.info.ne.size()));
    for (uint64_t d : t.info.ne) meta.put<uint64_t>(d);
    meta.put<uint32_t>(static_cast<uint32_t>(t.info.type));
    meta.put<uint64_t>(offset);
    offset += padded_size(t.info.n_bytes, alignment);
  }
  if (!tensors_.empty()) meta.pad_to(alignment);
  return std::move(meta.bytes());
}

uint64_t Writer::alignment() const {
  return alignment_of(kvs_);
}

std::vector<Writer::TensorLayout> Writer::tensor_layout() const {
  std::vector<TensorLayout> out;
  for (const PendingTensor& t : tensors_) out.push_back({t.info.name, t.info.n_bytes});
  return out;
}

template <typename Sink>
void Writer::emit(Sink& sink) const {
  const uint64_t alignment = alignment_of(kvs_);
  const std::vector<std::byte> meta = header();
  sink.write(meta);
  for (const PendingTensor& t : tensors_) {
    std::vector<std::byte> made;  // a deferred tensor's bytes, freed before the next tensor
    std::span<const std::byte> data = t.data;
    if (t.produce) {
      made = t.produce();
      data = made;
    }
    if (data.size() != t.info.n_bytes) {
      fail(ErrorKind::internal, "GGUF writer: tensor '{}' has {} bytes of data for {} expected",
           t.info.name, data.size(), t.info.n_bytes);
    }
    sink.write(data);
    const uint64_t padded = padded_size(t.info.n_bytes, alignment);
    sink.write_zeros(static_cast<size_t>(padded - t.info.n_bytes));
  }
}

void Writer::write(const std::filesystem::path& path) const {
  AtomicFile file(path);
  FileSink sink{file};
  emit(sink);
  file.commit();
}

std::vector<std::byte> Writer::to_bytes() const {
  std::vector<std::byte> out;
  VectorSink sink{out};
  emit(sink);
  return out;
}

Writer writer_from(const File& file) {
  Writer writer(file.version);
  writer.kvs_ = file.kvs;
  writer.tensors_.reserve(file.tensors.size());
  for (const TensorInfo& info : file.tensors) {
    writer.tensors_.push_back(Writer::PendingTensor{info, file.tensor_data(info), file.owner, {}});
  }
  return writer;
}

}  // namespace slmkit::gguf
