// Typed, optional reads of "{arch}.*" keys for the per-family GGUF mappings.
#pragma once

#include <optional>
#include <string>

#include "formats/gguf.h"

namespace slmkit::arch::gguf_keys {

inline std::optional<double> f64(const gguf::File& f, const std::string& key) {
  const gguf::Value* v = f.find(key);
  return v ? std::optional<double>(v->as_f64(key)) : std::nullopt;
}

inline std::optional<int64_t> i64(const gguf::File& f, const std::string& key) {
  const gguf::Value* v = f.find(key);
  return v ? std::optional<int64_t>(v->as_i64(key)) : std::nullopt;
}

}  // namespace slmkit::arch::gguf_keys
