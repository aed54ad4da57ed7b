// The preset rule table. Read from llama.cpp's llama_tensor_get_type_impl and
// tensor_type_fallback (src/llama-quant.cpp), reduced to what applies to dense, non-Falcon models
// without an importance matrix: no expert counts, no 70B special case, no IQ presets.
//
// Rules, by tensor category (categories from the tensor's GGUF name):
//   output.weight (and token_embd.weight when there is no output.weight: tied embeddings)
//       row not a multiple of the base type's block  -> Q8_0
//       otherwise, base type is not Q8_0             -> Q6_K
//   attn_v / attn_qkv / attn_kv_b  (i = how many met so far, n = how many in the model)
//       Q2_K   -> n_gqa >= 4 ? Q4_K : Q3_K
//       Q3_K_M -> i < 2 ? Q5_K : Q4_K          Q3_K_L -> Q5_K
//       Q4_K_M, Q5_K_M -> Q6_K where use_more_bits(i, n)
//       Q4_K_S -> Q5_K for i < 4
//   ffn_down  (i = how many met so far, n = n_layer)
//       Q2_K -> Q3_K        Q3_K_M -> i < n/16 ? Q5_K : Q4_K        Q3_K_L -> Q5_K
//       Q4_K_M, Q5_K_M -> Q6_K where use_more_bits(i, n)       Q4_K_S -> Q5_K for i < n/8
//       with an importance matrix: Q4_0 -> Q4_1, Q5_0 -> Q5_1 for i < n/8
//   attn_output
//       Q2_K -> Q3_K        Q3_K_M -> Q4_K        Q3_K_L -> Q5_K
// use_more_bits(i, n): the first and last eighth of the layers and every third one between.
// Fallback when a row does not fit the block: Q2_K, Q3_K -> Q4_0; Q4_K -> Q5_0; Q5_K -> Q5_1;
// Q6_K -> Q8_0; if that still does not fit (rows not a multiple of 32) -> F16.
#include "quant/presets.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/fail.h"

namespace slmkit::quant {
namespace {

struct PresetRow {
  Preset preset;
  DType base;
};

constexpr std::array<PresetRow, 17> kPresets = {{
    {Preset::F32, DType::F32},
    {Preset::F16, DType::F16},
    {Preset::BF16, DType::BF16},
    {Preset::Q4_0, DType::Q4_0},
    {Preset::Q4_1, DType::Q4_1},
    {Preset::Q5_0, DType::Q5_0},
    {Preset::Q5_1, DType::Q5_1},
    {Preset::Q8_0, DType::Q8_0},
    {Preset::Q2_K, DType::Q2_K},
    {Preset::Q3_K_S, DType::Q3_K},
    {Preset::Q3_K_M, DType::Q3_K},
    {Preset::Q3_K_L, DType::Q3_K},
    {Preset::Q4_K_S, DType::Q4_K},
    {Preset::Q4_K_M, DType::Q4_K},
    {Preset::Q5_K_S, DType::Q5_K},
    {Preset::Q5_K_M, DType::Q5_K},
    {Preset::Q6_K, DType::Q6_K},
}};

const PresetRow& row_of(Preset preset) {
  for (const PresetRow& row : kPresets) {
    if (row.preset == preset) return row;
  }
  fail(ErrorKind::internal, "preset {} has no row", static_cast<int32_t>(preset));
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

enum class Category {
  output,
  token_embd,
  attn_v,
  attn_k,
  attn_q,
  attn_output,
  ffn_up,
  ffn_gate,
  ffn_down,
  other
};

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// In llama.cpp's order: the first match wins.
Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::output;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight")
    return Category::token_embd;
  if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") ||
      contains(name, "attn_v.weight"))
    return Category::attn_v;
  if (contains(name, "attn_k.weight")) return Category::attn_k;
  if (contains(name, "attn_q.weight")) return Category::attn_q;
  if (contains(name, "attn_output.weight")) return Category::attn_output;
  if (contains(name, "ffn_up")) return Category::ffn_up;
  if (contains(name, "ffn_gate")) return Category::ffn_gate;
  if (contains(name, "ffn_down")) return Category::ffn_down;
  return Category::other;
}

// ggml_n_dims: trailing dimensions of size 1 (GGUF order) do not count.
size_t n_dims(const Shape& shape) {
  size_t skip = 0;
  while (skip + 1 < shape.size() && shape[skip] == 1) ++skip;
  return shape.size() - skip;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// tensor_allows_quantization, for the tensor names our families use.
bool allows_quantization(const Tensor& t, const PlanOptions& options) {
  if (n_dims(t.shape()) < 2) return false;
  const std::string& name = t.name();
  if (!ends_with(name, "weight")) return false;
  if (contains(name, "_norm.weight")) return false;
  if (!options.quantize_output && name == "output.weight") return false;
  if (contains(name, "ffn_gate_inp.weight")) return false;
  if (name == "position_embd.weight" || name == "token_types.weight") return false;
  return true;
}

bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

bool fits(DType type, int64_t ncols) {
  return ncols % static_cast<int64_t>(traits(type).block_size) == 0;
}

// N for "blk.N....", -1 otherwise (as sscanf("blk.%d.") in llama.cpp's loader).
int block_index(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  int n = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && n < 1000000)
    n = n * 10 + (name[i++] - '0');
  return n;
}

struct Counters {
  int i_attention_wv = 0;
  int n_attention_wv = 0;
  int i_ffn_down = 0;
  bool tied_embeddings = true;
  bool has_imatrix = false;
};

// The preset rules above; returns the type and sets `why` where a rule changed it.
DType rule_type(Preset p, DType type, Category cat, int64_t ncols, const ModelFacts& facts,
                Counters& c, std::string& why) {
  const int n_gqa = facts.n_head_kv > 0 ? facts.n_head / facts.n_head_kv : 1;
  const DType before = type;
  std::string rule;
  if (cat == Category::output || (c.tied_embeddings && cat == Category::token_embd)) {
    if (!fits(type, ncols)) {
      type = DType::Q8_0;
      rule = "output/tied embedding whose rows do not fit the base block: Q8_0";
    } else if (type != DType::Q8_0) {
      type = DType::Q6_K;
      rule = "output/tied embedding: Q6_K";
    }
  } else if (cat == Category::attn_v) {
    const int i = c.i_attention_wv, n = c.n_attention_wv;
    if (p == Preset::Q2_K) {
      type = n_gqa >= 4 ? DType::Q4_K : DType::Q3_K;
    } else if (p == Preset::Q3_K_M) {
      type = i < 2 ? DType::Q5_K : DType::Q4_K;
    } else if (p == Preset::Q3_K_L) {
      type = DType::Q5_K;
    } else if ((p == Preset::Q4_K_M || p == Preset::Q5_K_M) && use_more_bits(i, n)) {
      type = DType::Q6_K;
    } else if (p == Preset::Q4_K_S && i < 4) {
      type = DType::Q5_K;
    }
    rule = "attn_v #" + std::to_string(i);
    ++c.i_attention_wv;
  } else if (cat == Category::ffn_down) {
    const int i = c.i_ffn_down, n = facts.n_layer;
    if (p == Preset::Q2_K) {
      type = DType::Q3_K;
    } else if (p == Preset::Q3_K_M) {
      type = i < n / 16 ? DType::Q5_K : DType::Q4_K;
    } else if (p == Preset::Q3_K_L) {
      type = DType::Q5_K;
    } else if ((p == Preset::Q4_K_M || p == Preset::Q5_K_M) && use_more_bits(i, n)) {
      type = DType::Q6_K;
    } else if (p == Preset::Q4_K_S && i < n / 8) {
      type = DType::Q5_K;
    } else if ((p == Preset::Q4_0 || p == Preset::Q5_0) && c.has_imatrix && i < n / 8) {
      // llama.cpp guards the first ffn_down layers only when an imatrix is given, so that
      // quantizing without one stays as it always was.
      type = p == Preset::Q4_0 ? DType::Q4_1 : DType::Q5_1;
    }
    rule = "ffn_down #" + std::to_string(i);
    ++c.i_ffn_down;
  } else if (cat == Category::attn_output) {
    if (p == Preset::Q2_K) type = DType::Q3_K;
    if (p == Preset::Q3_K_M) type = DType::Q4_K;
    if (p == Preset::Q3_K_L) type = DType::Q5_K;
    rule = "attn_output";
  }
  if (type != before) why = rule + " -> " + std::string(dtype_name(type));
  return type;
}

DType fallback_type(DType type) {
  switch (type) {
    case DType::Q2_K:
    case DType::Q3_K:
      return DType::Q4_0;
    case DType::Q4_K:
      return DType::Q5_0;
    case DType::Q5_K:
      return DType::Q5_1;
    case DType::Q6_K:
      return DType::Q8_0;
    default:
      return type;
  }
}

}  // namespace

bool tensor_allows_quantization(const Tensor& tensor, const PlanOptions& options) {
  return allows_quantization(tensor, options);
}

DType type_for_row(DType type, int64_t ncols, std::string* why) {
  if (fits(type, ncols)) return type;
  DType next = fallback_type(type);
  std::string reason = fmt::format("row of {} not a multiple of {}'s block {}", ncols,
                                   dtype_name(type), traits(type).block_size);
  if (!fits(next, ncols)) {
    if (next != type)
      reason += fmt::format(" nor of {}'s {}", dtype_name(next), traits(next).block_size);
    next = DType::F16;
  }
  if (why) *why = reason + " -> " + std::string(dtype_name(next));
  return next;
}

std::optional<Preset> preset_from_name(std::string_view name) {
  for (const PresetRow& row : kPresets) {
    if (iequal(preset_name(row.preset), name)) return row.preset;
  }
  if (iequal(name, "Q3_K")) return Preset::Q3_K_M;
  if (iequal(name, "Q4_K")) return Preset::Q4_K_M;
  if (iequal(name, "Q5_K")) return Preset::Q5_K_M;
  return std::nullopt;
}

std::string_view preset_name(Preset preset) {
  return llama_ftype_name(static_cast<int32_t>(row_of(preset).preset));
}

DType preset_base_type(Preset preset) {
  return row_of(preset).base;
}

std::vector<std::string_view> preset_names() {
  std::vector<std::string_view> names;
  for (const PresetRow& row : kPresets) names.push_back(preset_name(row.preset));
  return names;
}

std::vector<TensorPlan> plan_types(Preset preset, const std::vector<Tensor>& tensors,
                                   const ModelFacts& facts, const PlanOptions& options) {
  const DType base = preset_base_type(preset);
  const bool base_is_block = traits(base).block_size > 1;
  Counters counters;
  counters.has_imatrix = options.has_imatrix;
  for (const Tensor& t : tensors) {
    if (category_of(t.name()) == Category::attn_v) ++counters.n_attention_wv;
    if (category_of(t.name()) == Category::output) counters.tied_embeddings = false;
  }
  // llama.cpp visits tensors in its loader's order (tensors outside blocks first, then by block
  // number, by name within one), and the attn_v / ffn_down rules count in that order.
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = block_index(tensors[a].name()), lb = block_index(tensors[b].name());
    if (la != lb) return la < lb;
    return tensors[a].name() < tensors[b].name();
  });
  std::vector<TensorPlan> plans(tensors.size());
  for (size_t index : order) {
    const Tensor& t = tensors[index];
    TensorPlan& plan = plans[index];
    plan = TensorPlan{t.name(), t.dtype(), t.dtype(), "", false};
    if (!allows_quantization(t, options)) {
      plan.reason = n_dims(t.shape()) < 2 ? "1-D: kept" : "not a quantized weight: kept";
      continue;
    }
    const int64_t ncols = t.shape().empty() ? 1 : t.shape().back();
    DType type = base;
    if (base_is_block) {
      if (!options.pure)
        type = rule_type(preset, type, category_of(t.name()), ncols, facts, counters, plan.reason);
      if (!fits(type, ncols)) {
        type = type_for_row(type, ncols, &plan.reason);
        plan.fallback = true;
      }
    }
    plan.to = type;
  }
  return plans;
}

}  // namespace slmkit::quant
