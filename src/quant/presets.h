// Quantization presets ("Q4_K_M", "Q8_0", ...) and the per-tensor type each assigns, following
// llama.cpp's llama_tensor_get_type (src/llama-quant.cpp) for the dense model families slmkit
// reads. The rule table is in presets.cpp, in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/llama_ftype.h"
#include "slmkit/dtype.h"
#include "slmkit/tensor.h"

namespace slmkit::quant {

// A preset is the llama_ftype it writes into general.file_type; slmkit makes the ones in
// presets.cpp's table.
using Preset = LlamaFtype;

// "Q4_K_M", "q8_0", "f16"; a bare K type name means its _M preset ("Q4_K" is Q4_K_M), and
// "Q6_K"/"Q2_K" are presets of their own, as in llama-quantize.
std::optional<Preset> preset_from_name(std::string_view name);
std::string_view preset_name(Preset preset);
DType preset_base_type(Preset preset);  // the type most matrices get
std::vector<std::string_view> preset_names();

// What the rules need to know about the model besides its tensors.
struct ModelFacts {
  int n_layer = 0;  // blocks; llama.cpp's n_layer_all
  int n_head = 0;
  int n_head_kv = 0;  // n_gqa = n_head / n_head_kv
};

struct TensorPlan {
  std::string name;
  DType from;
  DType to;
  std::string reason;  // why `to` (the rule, or the fallback and its cause); "" for the base type
  bool fallback = false;  // the preferred type did not fit the row length
};

struct PlanOptions {
  bool pure = false;  // every quantizable tensor gets the base type (llama.cpp's --pure)
  bool quantize_output = true;
  bool has_imatrix = false;  // enables llama.cpp's imatrix-only ffn_down rule (Q4_0, Q5_0)
};

// llama.cpp's tensor_allows_quantization for the names our families use: 2-D or more, a
// "weight", not a norm, not a position/token-type embedding.
bool tensor_allows_quantization(const Tensor& tensor, const PlanOptions& options = {});

// `type` where rows of `ncols` elements fit its block; otherwise llama.cpp's fallback
// (tensor_type_fallback: Q2_K, Q3_K -> Q4_0; Q4_K -> Q5_0; Q5_K -> Q5_1; Q6_K -> Q8_0), and F16
// where that does not fit either. `why` (optional) says why, when the type changed.
DType type_for_row(DType type, int64_t ncols, std::string* why = nullptr);

// One entry per tensor, in the order given (the order matters: some rules count attn_v and
// ffn_down tensors as they are met, as llama.cpp does). Tensors that are not quantized keep their
// type: 1-D tensors, norms, names not ending in "weight".
std::vector<TensorPlan> plan_types(Preset preset, const std::vector<Tensor>& tensors,
                                   const ModelFacts& facts, const PlanOptions& options = {});

}  // namespace slmkit::quant
