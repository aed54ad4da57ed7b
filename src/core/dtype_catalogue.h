// The GGML type catalogue: every type id a GGUF file may hold, the name llama.cpp prints for it,
// and the storage geometry a reader needs to size a tensor of it, also for the types slmkit cannot
// compute (IQ*, TQ*, MXFP4). Constant data, so that the quant registry (quant/type_traits.h) can
// check each block struct's sizeof against it at compile time. What a type does beyond its bytes
// (quantize, dequantize, the activation type of its dot product) is the quant registry's.
#pragma once

#include <array>
#include <optional>

#include "slmkit/dtype.h"

namespace slmkit::catalogue {

struct Entry {
  DType type;
  DTypeTraits traits;
};

// Block sizes and byte sizes from GGML's block structs (ggml-common.h); QK_K = 256.
inline constexpr std::array<Entry, 32> kTypes = {{
    {DType::F32, {"f32", 1, 4, true}},
    {DType::F16, {"f16", 1, 2, true}},
    {DType::Q4_0, {"q4_0", 32, 18, false}},
    {DType::Q4_1, {"q4_1", 32, 20, false}},
    {DType::Q5_0, {"q5_0", 32, 22, false}},
    {DType::Q5_1, {"q5_1", 32, 24, false}},
    {DType::Q8_0, {"q8_0", 32, 34, false}},
    {DType::Q8_1, {"q8_1", 32, 36, false}},
    {DType::Q2_K, {"q2_K", 256, 84, false}},
    {DType::Q3_K, {"q3_K", 256, 110, false}},
    {DType::Q4_K, {"q4_K", 256, 144, false}},
    {DType::Q5_K, {"q5_K", 256, 176, false}},
    {DType::Q6_K, {"q6_K", 256, 210, false}},
    {DType::Q8_K, {"q8_K", 256, 292, false}},
    {DType::IQ2_XXS, {"iq2_xxs", 256, 66, false}},
    {DType::IQ2_XS, {"iq2_xs", 256, 74, false}},
    {DType::IQ3_XXS, {"iq3_xxs", 256, 98, false}},
    {DType::IQ1_S, {"iq1_s", 256, 50, false}},
    {DType::IQ4_NL, {"iq4_nl", 32, 18, false}},
    {DType::IQ3_S, {"iq3_s", 256, 110, false}},
    {DType::IQ2_S, {"iq2_s", 256, 82, false}},
    {DType::IQ4_XS, {"iq4_xs", 256, 136, false}},
    {DType::I8, {"i8", 1, 1, false}},
    {DType::I16, {"i16", 1, 2, false}},
    {DType::I32, {"i32", 1, 4, false}},
    {DType::I64, {"i64", 1, 8, false}},
    {DType::F64, {"f64", 1, 8, true}},
    {DType::IQ1_M, {"iq1_m", 256, 56, false}},
    {DType::BF16, {"bf16", 1, 2, true}},
    {DType::TQ1_0, {"tq1_0", 256, 54, false}},
    {DType::TQ2_0, {"tq2_0", 256, 66, false}},
    {DType::MXFP4, {"mxfp4", 32, 17, false}},
}};

// nullptr for a value outside the enum (GGML's retired ids 4, 5, 31-33, 36-38).
constexpr const DTypeTraits* find(uint32_t id) {
  for (const Entry& e : kTypes) {
    if (static_cast<uint32_t>(e.type) == id) return &e.traits;
  }
  return nullptr;
}

// The same by value, for static_asserts: GCC's -fsanitize=undefined makes comparing the address
// of a constexpr object with null a non-constant expression, so find() cannot be tested there.
constexpr std::optional<DTypeTraits> lookup(uint32_t id) {
  for (const Entry& e : kTypes) {
    if (static_cast<uint32_t>(e.type) == id) return e.traits;
  }
  return std::nullopt;
}

}  // namespace slmkit::catalogue
