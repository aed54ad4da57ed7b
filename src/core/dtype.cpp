#include "slmkit/dtype.h"

#include <array>
#include <cctype>

#include "core/fail.h"

namespace slmkit {
namespace {

struct Row {
  uint32_t id;
  DTypeTraits traits;
};

// Block sizes and byte sizes from GGML's block structs (ggml-common.h); QK_K = 256.
constexpr std::array<Row, 32> kTypes = {{
    {0, {"f32", 1, 4, true}},          {1, {"f16", 1, 2, true}},
    {2, {"q4_0", 32, 18, false}},      {3, {"q4_1", 32, 20, false}},
    {6, {"q5_0", 32, 22, false}},      {7, {"q5_1", 32, 24, false}},
    {8, {"q8_0", 32, 34, false}},      {9, {"q8_1", 32, 36, false}},
    {10, {"q2_K", 256, 84, false}},    {11, {"q3_K", 256, 110, false}},
    {12, {"q4_K", 256, 144, false}},   {13, {"q5_K", 256, 176, false}},
    {14, {"q6_K", 256, 210, false}},   {15, {"q8_K", 256, 292, false}},
    {16, {"iq2_xxs", 256, 66, false}}, {17, {"iq2_xs", 256, 74, false}},
    {18, {"iq3_xxs", 256, 98, false}}, {19, {"iq1_s", 256, 50, false}},
    {20, {"iq4_nl", 32, 18, false}},   {21, {"iq3_s", 256, 110, false}},
    {22, {"iq2_s", 256, 82, false}},   {23, {"iq4_xs", 256, 136, false}},
    {24, {"i8", 1, 1, false}},         {25, {"i16", 1, 2, false}},
    {26, {"i32", 1, 4, false}},        {27, {"i64", 1, 8, false}},
    {28, {"f64", 1, 8, true}},         {29, {"iq1_m", 256, 56, false}},
    {30, {"bf16", 1, 2, true}},        {34, {"tq1_0", 256, 54, false}},
    {35, {"tq2_0", 256, 66, false}},   {39, {"mxfp4", 32, 17, false}},
}};

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
  for (const Row& row : kTypes) {
    if (row.id == id) return row.traits;
  }
  return std::nullopt;
}

const DTypeTraits& traits(DType type) {
  for (const Row& row : kTypes) {
    if (row.id == static_cast<uint32_t>(type)) return row.traits;
  }
  fail(ErrorKind::internal, "dtype id {} is not a known type", static_cast<uint32_t>(type));
}

std::string_view dtype_name(DType type) {
  return traits(type).name;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const Row& row : kTypes) {
    if (iequal(row.traits.name, name)) return static_cast<DType>(row.id);
  }
  return std::nullopt;
}

std::optional<uint64_t> row_bytes(DType type, uint64_t n_elements) noexcept {
  auto t = dtype_traits(static_cast<uint32_t>(type));
  if (!t || n_elements % t->block_size != 0) return std::nullopt;
  uint64_t blocks = n_elements / t->block_size;
  if (blocks > UINT64_MAX / t->block_bytes) return std::nullopt;
  return blocks * t->block_bytes;
}

}  // namespace slmkit
