// Which storage type holds most of a set of tensors' bytes: what people mean by a model's type
// ("a Q8_0 model"), and what names a file whose metadata does not say.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "slmkit/dtype.h"
#include "slmkit/model.h"

namespace slmkit {

class TypeBytes {
 public:
  void add(DType type, uint64_t n_bytes) { bytes_[type] += n_bytes; }
  // The type with most bytes (ties: the lower type id); nullopt when none was added.
  std::optional<DType> most() const {
    std::optional<DType> best;
    uint64_t most = 0;
    for (const auto& [type, n] : bytes_) {
      if (n > most) most = n, best = type;
    }
    return best;
  }

 private:
  std::map<DType, uint64_t> bytes_;
};

// The bytes of `model`'s matrices (its 2-D tensors) by type.
inline TypeBytes matrix_type_bytes(const Model& model) {
  TypeBytes bytes;
  for (const Tensor& t : model.tensors()) {
    if (t.rank() == 2) bytes.add(t.dtype(), t.n_bytes());
  }
  return bytes;
}

// The type holding most bytes of `model`'s matrices; nullopt when it has none.
inline std::optional<DType> most_matrix_type(const Model& model) {
  return matrix_type_bytes(model).most();
}

// A type as people write it ("Q8_0", "F16"), where dtype_name spells it as llama.cpp ("q8_0").
inline std::string upper_dtype_name(DType type) {
  std::string s(dtype_name(type));
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace slmkit
