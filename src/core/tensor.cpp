#include "slmkit/tensor.h"

#include <cstring>

#include "core/fail.h"
#include "core/half.h"

namespace slmkit {

uint64_t tensor_bytes(DType type, const Shape& shape, const std::string& what) {
  auto t = dtype_traits(static_cast<uint32_t>(type));
  if (!t) fail_invalid("{}: unknown tensor type id {}", what, static_cast<uint32_t>(type));
  uint64_t rows = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) fail_invalid("{}: negative dimension {} in shape", what, shape[i]);
    if (i + 1 < shape.size()) {
      const auto d = static_cast<uint64_t>(shape[i]);
      if (d != 0 && rows > UINT64_MAX / d)
        fail_invalid("{}: shape {} overflows", what, shape_string(shape));
      rows *= d;
    }
  }
  const uint64_t inner = shape.empty() ? 1 : static_cast<uint64_t>(shape.back());
  auto row = row_bytes(type, inner);
  if (!row) {
    fail_invalid("{}: row of {} elements is not a multiple of {}'s block size {}", what, inner,
                 t->name, t->block_size);
  }
  if (*row != 0 && rows > UINT64_MAX / *row) fail_invalid("{}: byte size overflows", what);
  return rows * *row;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(std::string name, DType dtype, Shape shape, const std::byte* data, size_t n_bytes,
               std::shared_ptr<const void> owner)
    : name_(std::move(name)),
      dtype_(dtype),
      shape_(std::move(shape)),
      data_(data),
      n_bytes_(n_bytes),
      owner_(std::move(owner)) {
  const uint64_t expected = tensor_bytes(dtype_, shape_, "tensor '" + name_ + "'");
  if (expected != n_bytes_) {
    fail_invalid("tensor '{}': {} {} needs {} bytes, found {}", name_, dtype_name(dtype_),
                 shape_string(shape_), expected, n_bytes_);
  }
}

Tensor Tensor::owned(std::string name, DType dtype, Shape shape, std::vector<std::byte> bytes) {
  auto buffer = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  const std::byte* data = buffer->data();
  const size_t n = buffer->size();
  return Tensor(std::move(name), dtype, std::move(shape), data, n,
                std::shared_ptr<const void>(buffer, buffer.get()));
}

int64_t Tensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != n_elements()) {
    fail(ErrorKind::internal, "tensor '{}': cannot reshape {} to {}", name_, shape_string(shape_),
         shape_string(shape));
  }
  t.shape_ = std::move(shape);
  return t;
}

std::vector<float> Tensor::to_f32() const {
  const size_t n = static_cast<size_t>(n_elements());
  std::vector<float> out(n);
  auto load = [&](auto tag, auto convert) {
    using T = decltype(tag);
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, data_ + i * sizeof(T), sizeof(T));
      out[i] = convert(v);
    }
  };
  switch (dtype_) {
    case DType::F32:
      if (n) std::memcpy(out.data(), data_, n * sizeof(float));
      break;
    case DType::F16:
      load(uint16_t{}, [](uint16_t v) { return f16_to_f32(v); });
      break;
    case DType::BF16:
      load(uint16_t{}, [](uint16_t v) { return bf16_to_f32(v); });
      break;
    case DType::F64:
      load(double{}, [](double v) { return static_cast<float>(v); });
      break;
    case DType::I8:
      load(int8_t{}, [](int8_t v) { return static_cast<float>(v); });
      break;
    case DType::I16:
      load(int16_t{}, [](int16_t v) { return static_cast<float>(v); });
      break;
    case DType::I32:
      load(int32_t{}, [](int32_t v) { return static_cast<float>(v); });
      break;
    default:
      fail_unsupported(
          "tensor '{}': {} is a block type; dequantize(tensor) (slmkit/quantize.h) "
          "reads it",
          name_, dtype_name(dtype_));
  }
  return out;
}

}  // namespace slmkit
