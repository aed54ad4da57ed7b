// A named, typed view of tensor data: into an mmapped file, or into a buffer it owns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "slmkit/dtype.h"

namespace slmkit {

// Shapes are written outermost first (row-major, as PyTorch and safetensors write them): a
// [rows, cols] matrix has its `cols` elements contiguous. GGUF's ne[] is the reverse order.
using Shape = std::vector<int64_t>;

class Tensor {
 public:
  Tensor() = default;
  // A view of `data`, kept alive by `owner` (an mmapped file or a buffer).
  Tensor(std::string name, DType dtype, Shape shape, const std::byte* data, size_t n_bytes,
         std::shared_ptr<const void> owner);
  // A tensor that owns a copy of `bytes`; checks that the size matches dtype and shape.
  static Tensor owned(std::string name, DType dtype, Shape shape, std::vector<std::byte> bytes);

  const std::string& name() const { return name_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t rank() const { return shape_.size(); }
  int64_t n_elements() const;
  std::span<const std::byte> bytes() const { return {data_, n_bytes_}; }
  const std::byte* data() const { return data_; }
  size_t n_bytes() const { return n_bytes_; }
  const std::shared_ptr<const void>& owner() const { return owner_; }

  void set_name(std::string name) { name_ = std::move(name); }
  // The same data under another shape with the same number of elements.
  Tensor reshaped(Shape shape) const;

  // Elements converted to float for the plain element types (F32/F16/BF16, F64/I8/I16/I32);
  // block types are Error(unsupported): dequantize(tensor) in slmkit/quantize.h reads those.
  std::vector<float> to_f32() const;

 private:
  std::string name_;
  DType dtype_ = DType::F32;
  Shape shape_;
  const std::byte* data_ = nullptr;
  size_t n_bytes_ = 0;
  std::shared_ptr<const void> owner_;
};

std::string shape_string(const Shape& shape);  // "[512, 64]"

// Exact byte count for a tensor of `type` and `shape`, checked: the innermost dimension must be a
// multiple of the block size and nothing may overflow. Throws Error(invalid_input) naming `what`.
uint64_t tensor_bytes(DType type, const Shape& shape, const std::string& what);

}  // namespace slmkit
