// quantize_model: plan each tensor's type with the preset rules, then quantize the float values.
// Tensors are planned in the order the GGUF writer stores them (the architecture's layout), since
// llama.cpp's rules count attn_v / ffn_down tensors in file order.
#include <chrono>
#include <cmath>
#include <set>

#include "arch/arch.h"
#include "core/fail.h"
#include "quant/llama_ftype.h"
#include "quant/presets.h"
#include "quant/quant.h"
#include "quant/type_traits.h"
#include "slmkit/quantize.h"

namespace slmkit {
namespace {

void apply_tensor_types(const std::map<std::string, std::string>& types,
                        const std::vector<Tensor>& tensors, std::vector<quant::TensorPlan>& plans) {
  std::set<std::string> used;
  for (size_t i = 0; i < plans.size(); ++i) {
    const auto it = types.find(plans[i].name);
    if (it == types.end()) continue;
    used.insert(it->first);
    const std::optional<DType> type = dtype_from_name(it->second);
    if (!type || !quant::can_quantize(*type) || traits(*type).block_size == 0) {
      fail_invalid("quantize: tensor type '{}' for '{}' is not a type slmkit quantizes to",
                   it->second, it->first);
    }
    const Tensor& t = tensors[i];
    if (!quant::tensor_allows_quantization(t)) {
      fail_invalid("quantize: tensor '{}' ({}) is not quantized; it cannot be given type {}",
                   t.name(), shape_string(t.shape()), it->second);
    }
    const int64_t ncols = t.shape().empty() ? 1 : t.shape().back();
    if (ncols % static_cast<int64_t>(traits(*type).block_size) != 0) {
      fail_invalid("quantize: tensor '{}' has rows of {}, not a multiple of {}'s block {}",
                   t.name(), ncols, dtype_name(*type), traits(*type).block_size);
    }
    plans[i].to = *type;
    plans[i].reason = "tensor type " + std::string(dtype_name(*type));
    plans[i].fallback = false;
  }
  for (const auto& [name, type] : types) {
    if (!used.count(name)) fail_invalid("quantize: tensor type for '{}': no such tensor", name);
  }
}

}  // namespace

nlohmann::ordered_json QuantizeReport::to_json() const {
  nlohmann::ordered_json j;
  j["preset"] = preset;
  j["file_type"] = file_type;
  j["n_fallback"] = n_fallback;
  j["n_imatrix"] = n_imatrix;
  j["bytes_in"] = bytes_in;
  j["bytes_out"] = bytes_out;
  j["seconds"] = seconds;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const TensorQuantization& t : tensors) {
    list.push_back({{"name", t.name},
                    {"from", t.from},
                    {"to", t.to},
                    {"reason", t.reason},
                    {"fallback", t.fallback},
                    {"imatrix", t.imatrix},
                    {"bytes_in", t.bytes_in},
                    {"bytes_out", t.bytes_out}});
  }
  j["tensors"] = std::move(list);
  return j;
}

std::vector<std::string> quantize_type_names() {
  std::vector<std::string> names;
  for (std::string_view n : quant::preset_names()) names.emplace_back(n);
  return names;
}

Model quantize_model(const Model& model, const QuantizeOptions& options, QuantizeReport* report) {
  const auto start = std::chrono::steady_clock::now();
  const auto preset = quant::preset_from_name(options.type);
  if (!preset) {
    std::string known;
    for (const std::string& n : quantize_type_names()) known += (known.empty() ? "" : ", ") + n;
    fail_invalid("quantize: unknown type or preset '{}' (known: {})", options.type, known);
  }

  // Writer order first, then anything the layout does not list, in model order.
  std::vector<Tensor> ordered;
  std::set<std::string> seen;
  for (const arch::TensorSpec& spec : arch::expected_tensors(model.config)) {
    if (const Tensor* t = model.find(spec.name)) {
      ordered.push_back(*t);
      seen.insert(spec.name);
    }
  }
  for (const Tensor& t : model.tensors()) {
    if (!seen.count(t.name())) ordered.push_back(t);
  }

  quant::ModelFacts facts;
  facts.n_layer = static_cast<int>(model.config.n_layer);
  facts.n_head = static_cast<int>(model.config.n_head);
  facts.n_head_kv = static_cast<int>(model.config.n_head_kv);
  quant::PlanOptions plan_options;
  plan_options.pure = options.pure;
  plan_options.has_imatrix = options.imatrix != nullptr;
  std::vector<quant::TensorPlan> plans = quant::plan_types(*preset, ordered, facts, plan_options);
  apply_tensor_types(options.tensor_types, ordered, plans);

  QuantizeReport r;
  r.preset = std::string(quant::preset_name(*preset));
  r.file_type = static_cast<int32_t>(*preset);
  Model out = model;
  const auto n_plans = static_cast<int64_t>(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const quant::TensorPlan& plan = plans[i];
    const Tensor& t = ordered[i];
    options.cancel.throw_if_cancelled();
    if (options.on_progress) {
      options.on_progress(static_cast<int64_t>(i), n_plans, "quantize " + t.name());
    }
    if (plan.fallback) {
      ++r.n_fallback;
      if (options.strict) {
        fail_invalid("quantize {} (--strict): tensor '{}' {}: {}", r.preset, t.name(),
                     shape_string(t.shape()), plan.reason);
      }
    }
    TensorQuantization tq{t.name(),
                          std::string(dtype_name(plan.from)),
                          std::string(dtype_name(plan.to)),
                          plan.reason,
                          plan.fallback,
                          false,
                          t.n_bytes(),
                          t.n_bytes()};
    if (plan.to != t.dtype()) {
      if (!traits(t.dtype()).is_float && !options.allow_requantize) {
        fail_invalid(
            "quantize: tensor '{}' is already {}; requantizing loses accuracy (allow it "
            "explicitly)",
            t.name(), dtype_name(t.dtype()));
      }
      const int64_t n_per_row = t.shape().empty() ? 1 : t.shape().back();
      std::vector<float> importance;
      if (options.imatrix) {
        importance = options.imatrix->weights(t.name());
        if (!importance.empty() && importance.size() != static_cast<size_t>(n_per_row)) {
          // As llama.cpp: a mismatched imatrix is an error, except for the token embedding,
          // which always mismatches when an imatrix has it at all.
          if (t.name() != "token_embd.weight") {
            fail_invalid("quantize: imatrix entry '{}' has {} values, the tensor's rows have {}",
                         t.name(), importance.size(), n_per_row);
          }
          importance.clear();
        }
        for (float v : importance) {
          if (!std::isfinite(v))
            fail_invalid("quantize: imatrix entry '{}' is not finite", t.name());
        }
      }
      const quant::QuantTraits* to = quant::quant_traits(plan.to);
      const bool weighted = !importance.empty() && to && to->from_float_weighted;
      if (weighted) {
        tq.imatrix = true;
        ++r.n_imatrix;
      }
      const float* qw = importance.empty() ? nullptr : importance.data();
      // Row by row from the stored type where it has a converter; otherwise all at once.
      std::vector<std::byte> bytes =
          quant::quant_traits(t.dtype())
              ? quant::quantize_tensor_rows(plan.to, t.dtype(), t.bytes(), n_per_row,
                                            options.n_threads, qw, options.imatrix_best_of_both)
              : quant::quantize_rows(plan.to, dequantize(t), n_per_row, options.n_threads, qw,
                                     options.imatrix_best_of_both);
      tq.bytes_out = bytes.size();
      Tensor q = Tensor::owned(t.name(), plan.to, t.shape(), std::move(bytes));
      out.remove(t.name());
      out.add(std::move(q));
    }
    r.bytes_in += tq.bytes_in;
    r.bytes_out += tq.bytes_out;
    r.tensors.push_back(std::move(tq));
  }
  if (!options.tensor_types.empty()) {
    out.config.file_type = -1;
    r.file_type = quant::llama_ftype_of(out);
    r.preset = "mix, named " + std::string(quant::llama_ftype_name(r.file_type));
  }
  out.config.file_type = r.file_type;
  if (options.on_progress) options.on_progress(n_plans, n_plans, "quantized");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report) *report = std::move(r);
  return out;
}

}  // namespace slmkit
