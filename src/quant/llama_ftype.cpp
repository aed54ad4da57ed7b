#include "quant/llama_ftype.h"

#include <array>

#include "core/fail.h"
#include "core/type_bytes.h"
#include "quant/type_traits.h"

namespace slmkit::quant {
namespace {

struct Named {
  std::string_view name;
  LlamaFtype ftype;
};

// llama-quantize's names (tools/quantize/quantize.cpp); the first row of a number is its name.
constexpr std::array<Named, 40> kNames{{
    {"F32", LlamaFtype::F32},
    {"F16", LlamaFtype::F16},
    {"Q4_0", LlamaFtype::Q4_0},
    {"Q4_1", LlamaFtype::Q4_1},
    {"Q8_0", LlamaFtype::Q8_0},
    {"Q5_0", LlamaFtype::Q5_0},
    {"Q5_1", LlamaFtype::Q5_1},
    {"Q2_K", LlamaFtype::Q2_K},
    {"Q3_K_S", LlamaFtype::Q3_K_S},
    {"Q3_K_M", LlamaFtype::Q3_K_M},
    {"Q3_K_L", LlamaFtype::Q3_K_L},
    {"Q4_K_S", LlamaFtype::Q4_K_S},
    {"Q4_K_M", LlamaFtype::Q4_K_M},
    {"Q5_K_S", LlamaFtype::Q5_K_S},
    {"Q5_K_M", LlamaFtype::Q5_K_M},
    {"Q6_K", LlamaFtype::Q6_K},
    {"IQ2_XXS", LlamaFtype::IQ2_XXS},
    {"IQ2_XS", LlamaFtype::IQ2_XS},
    {"Q2_K_S", LlamaFtype::Q2_K_S},
    {"IQ3_XS", LlamaFtype::IQ3_XS},
    {"IQ3_XXS", LlamaFtype::IQ3_XXS},
    {"IQ1_S", LlamaFtype::IQ1_S},
    {"IQ4_NL", LlamaFtype::IQ4_NL},
    {"IQ3_S", LlamaFtype::IQ3_S},
    {"IQ3_M", LlamaFtype::IQ3_M},
    {"IQ2_S", LlamaFtype::IQ2_S},
    {"IQ2_M", LlamaFtype::IQ2_M},
    {"IQ4_XS", LlamaFtype::IQ4_XS},
    {"IQ1_M", LlamaFtype::IQ1_M},
    {"BF16", LlamaFtype::BF16},
    {"TQ1_0", LlamaFtype::TQ1_0},
    {"TQ2_0", LlamaFtype::TQ2_0},
    {"MXFP4_MOE", LlamaFtype::MXFP4_MOE},
    {"NVFP4", LlamaFtype::NVFP4},
    {"Q1_0", LlamaFtype::Q1_0},
    {"Q2_0", LlamaFtype::Q2_0},
    {"Q3_K", LlamaFtype::Q3_K_M},
    {"Q4_K", LlamaFtype::Q4_K_M},
    {"Q5_K", LlamaFtype::Q5_K_M},
    {"COPY", LlamaFtype::F32},
}};

}  // namespace

std::string_view llama_ftype_name(int32_t ftype) {
  for (const Named& n : kNames) {
    if (static_cast<int32_t>(n.ftype) == ftype) return n.name;
  }
  return {};
}

std::optional<int32_t> llama_ftype_from_name(std::string_view name) {
  for (const Named& n : kNames) {
    if (n.name == name) return static_cast<int32_t>(n.ftype);
  }
  return std::nullopt;
}

int32_t llama_ftype_of(const Model& model) {
  if (model.config.file_type >= 0) return model.config.file_type;
  return llama_ftype_of(matrix_type_bytes(model));
}

int32_t llama_ftype_of(const TypeBytes& bytes) {
  const DType main = bytes.most().value_or(DType::F32);
  const QuantTraits* row = quant_traits(main);
  if (!row || !row->llama_ftype) {
    fail_unsupported("writing a GGUF whose matrices are {}: no llama_ftype for that type",
                     dtype_name(main));
  }
  return static_cast<int32_t>(*row->llama_ftype);
}

}  // namespace slmkit::quant
