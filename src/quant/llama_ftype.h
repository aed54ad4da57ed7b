// llama.cpp's `enum llama_ftype` (include/llama.h): the number a GGUF's general.file_type holds,
// with llama-quantize's name for it. The one place these numbers are written: presets, the type
// registry, the GGUF writer and the llama.cpp peer take them from here.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/type_bytes.h"
#include "slmkit/model.h"

namespace slmkit::quant {

enum class LlamaFtype : int32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 7,
  Q5_0 = 8,
  Q5_1 = 9,
  Q2_K = 10,
  Q3_K_S = 11,
  Q3_K_M = 12,
  Q3_K_L = 13,
  Q4_K_S = 14,
  Q4_K_M = 15,
  Q5_K_S = 16,
  Q5_K_M = 17,
  Q6_K = 18,
  IQ2_XXS = 19,
  IQ2_XS = 20,
  Q2_K_S = 21,
  IQ3_XS = 22,
  IQ3_XXS = 23,
  IQ1_S = 24,
  IQ4_NL = 25,
  IQ3_S = 26,
  IQ3_M = 27,
  IQ2_S = 28,
  IQ2_M = 29,
  IQ4_XS = 30,
  IQ1_M = 31,
  BF16 = 32,
  TQ1_0 = 36,
  TQ2_0 = 37,
  MXFP4_MOE = 38,
  NVFP4 = 39,
  Q1_0 = 40,
  Q2_0 = 41,
};

// llama-quantize's name ("Q4_K_M"); "" for a number that is not a llama_ftype.
std::string_view llama_ftype_name(int32_t ftype);
// Also the aliases llama-quantize accepts ("Q4_K" is Q4_K_M, "COPY" is F32); exact case.
std::optional<int32_t> llama_ftype_from_name(std::string_view name);

// The llama_ftype to write into general.file_type: config.file_type when set (quantize_model sets
// it), else the type holding most bytes of the matrices (a K type alone reads as its _M preset).
// Error(unsupported) when that type has no llama_ftype.
int32_t llama_ftype_of(const Model& model);
// The same for matrices known by type and byte count only (a file planned but not yet written).
int32_t llama_ftype_of(const TypeBytes& matrix_bytes);

}  // namespace slmkit::quant
