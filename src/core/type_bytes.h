// Which storage type holds most of a set of tensors' bytes: what people mean by a model's type
// ("a Q8_0 model"), and what names a file whose metadata does not say.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "slmkit/dtype.h"

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

}  // namespace slmkit
