#include "slmkit/dtype.h"

#include <cctype>

#include "core/dtype_catalogue.h"
#include "core/fail.h"

namespace slmkit {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<DTypeTraits> dtype_traits(uint32_t id) noexcept {
  if (const DTypeTraits* t = catalogue::find(id)) return *t;
  return std::nullopt;
}

const DTypeTraits& traits(DType type) {
  if (const DTypeTraits* t = catalogue::find(static_cast<uint32_t>(type))) return *t;
  fail(ErrorKind::internal, "dtype id {} is not a known type", static_cast<uint32_t>(type));
}

std::string_view dtype_name(DType type) {
  return traits(type).name;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const catalogue::Entry& e : catalogue::kTypes) {
    if (iequal(e.traits.name, name)) return e.type;
  }
  return std::nullopt;
}

std::optional<uint64_t> row_bytes(DType type, uint64_t n_elements) noexcept {
  const DTypeTraits* t = catalogue::find(static_cast<uint32_t>(type));
  if (!t || n_elements % t->block_size != 0) return std::nullopt;
  uint64_t blocks = n_elements / t->block_size;
  if (blocks > UINT64_MAX / t->block_bytes) return std::nullopt;
  return blocks * t->block_bytes;
}

}  // namespace slmkit
