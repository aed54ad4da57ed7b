// quantize_model: plan each tensor's type with the preset rules, then quantize the float values.
// Tensors are planned in the order the GGUF writer stores them (the architecture's layout), since
// llama.cpp's rules count attn_v / ffn_down tensors in file order.
#include <chrono>
#include <cmath>
#include <set>

#include "arch/arch.h"
#include "core/fail.h"
#include "core/mapped_file.h"
#include "core/type_bytes.h"
#include "formats/model_io.h"
#include "quant/imatrix_weights.h"
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

namespace {

// Everything decided before any tensor is quantized: each tensor's type, importance and size.
// Every error a plan or an option can raise is raised here, before an output file is begun.
struct Prepared {
  std::vector<Tensor> ordered;  // the writer's order, then tensors the layout does not list
  std::vector<quant::TensorPlan> plans;
  std::vector<std::vector<float>> importance;  // per tensor; empty: the reference path
  QuantizeReport report;                       // bytes_out as the planned types make them
};

Prepared prepare(const Model& model, const QuantizeOptions& options) {
  const auto preset = quant::preset_from_name(options.type);
  if (!preset) {
    std::string known;
    for (const std::string& n : quantize_type_names()) known += (known.empty() ? "" : ", ") + n;
    fail_invalid("quantize: unknown type or preset '{}' (known: {})", options.type, known);
  }
  Prepared p;
  // Writer order first, then anything the layout does not list, in model order.
  std::set<std::string> seen;
  for (const arch::TensorSpec& spec : arch::expected_tensors(model.config)) {
    if (const Tensor* t = model.find(spec.name)) {
      p.ordered.push_back(*t);
      seen.insert(spec.name);
    }
  }
  for (const Tensor& t : model.tensors()) {
    if (!seen.count(t.name())) p.ordered.push_back(t);
  }

  quant::ModelFacts facts;
  facts.n_layer = static_cast<int>(model.config.n_layer);
  facts.n_head = static_cast<int>(model.config.n_head);
  facts.n_head_kv = static_cast<int>(model.config.n_head_kv);
  quant::PlanOptions plan_options;
  plan_options.pure = options.pure;
  plan_options.has_imatrix = options.imatrix != nullptr;
  p.plans = quant::plan_types(*preset, p.ordered, facts, plan_options);
  apply_tensor_types(options.tensor_types, p.ordered, p.plans);

  QuantizeReport& r = p.report;
  r.preset = std::string(quant::preset_name(*preset));
  r.file_type = static_cast<int32_t>(*preset);
  p.importance.resize(p.plans.size());
  TypeBytes matrix_bytes;
  for (size_t i = 0; i < p.plans.size(); ++i) {
    const quant::TensorPlan& plan = p.plans[i];
    const Tensor& t = p.ordered[i];
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
      std::vector<float>& importance = p.importance[i];
      if (options.imatrix) {
        importance = quant::imatrix_row_weights(*options.imatrix, t.name(), n_per_row);
      }
      const quant::QuantTraits* to = quant::quant_traits(plan.to);
      if (!importance.empty() && to && to->from_float_weighted) {
        tq.imatrix = true;
        ++r.n_imatrix;
      }
      tq.bytes_out = tensor_bytes(plan.to, t.shape(), "quantize: tensor '" + t.name() + "'");
    }
    if (t.rank() == 2) matrix_bytes.add(plan.to, tq.bytes_out);
    r.bytes_in += tq.bytes_in;
    r.bytes_out += tq.bytes_out;
    r.tensors.push_back(std::move(tq));
  }
  // With per-tensor types the file is named by the type holding most matrix bytes.
  if (!options.tensor_types.empty()) {
    r.file_type = quant::llama_ftype_of(matrix_bytes);
    r.preset = "mix, named " + std::string(quant::llama_ftype_name(r.file_type));
  }
  return p;
}

// Tensor i's bytes in its planned type.
std::vector<std::byte> quantize_one(const Prepared& p, size_t i, const QuantizeOptions& options) {
  const Tensor& t = p.ordered[i];
  const DType to = p.plans[i].to;
  if (to == t.dtype()) return {t.bytes().begin(), t.bytes().end()};
  const int64_t n_per_row = t.shape().empty() ? 1 : t.shape().back();
  const std::vector<float>& importance = p.importance[i];
  const float* qw = importance.empty() ? nullptr : importance.data();
  // Row by row from the stored type where it has a converter; otherwise all at once.
  std::vector<std::byte> bytes =
      quant::quant_traits(t.dtype())
          ? quant::quantize_tensor_rows(to, t.dtype(), t.bytes(), n_per_row, options.n_threads, qw,
                                        options.imatrix_best_of_both)
          : quant::quantize_rows(to, dequantize(t), n_per_row, options.n_threads, qw,
                                 options.imatrix_best_of_both);
  if (bytes.size() != p.report.tensors[i].bytes_out) {
    fail(ErrorKind::internal, "quantize: tensor '{}' made {} bytes, planned {}", t.name(),
         bytes.size(), p.report.tensors[i].bytes_out);
  }
  return bytes;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Model quantize_model(const Model& model, const QuantizeOptions& options, QuantizeReport* report) {
  const auto start = std::chrono::steady_clock::now();
  Prepared p = prepare(model, options);
  Model out = model;
  const auto n_plans = static_cast<int64_t>(p.plans.size());
  for (size_t i = 0; i < p.plans.size(); ++i) {
    const Tensor& t = p.ordered[i];
    options.cancel.throw_if_cancelled();
    if (options.on_progress) {
      options.on_progress(static_cast<int64_t>(i), n_plans, "quantize " + t.name());
    }
    if (p.plans[i].to == t.dtype()) continue;
    Tensor q = Tensor::owned(t.name(), p.plans[i].to, t.shape(), quantize_one(p, i, options));
    out.remove(t.name());
    out.add(std::move(q));
  }
  out.config.file_type = p.report.file_type;
  if (options.on_progress) options.on_progress(n_plans, n_plans, "quantized");
  p.report.seconds = seconds_since(start);
  if (report) *report = std::move(p.report);
  return out;
}

void quantize_model_to_file(const Model& model, const QuantizeOptions& options,
                            const std::filesystem::path& output, QuantizeReport* report) {
  const auto start = std::chrono::steady_clock::now();
  // Converted before quantizing (a GGUF input needs nothing): rows are quantized independently,
  // so reordering q/k rows first gives the bytes reordering them after would.
  Model source = model;
  to_gguf_conventions(source);
  const Prepared p = prepare(source, options);
  const auto n_plans = static_cast<int64_t>(p.plans.size());
  std::map<std::string, DeferredTensor> deferred;
  bool block_tensors = false;
  for (size_t i = 0; i < p.plans.size(); ++i) {
    const Tensor& t = p.ordered[i];
    if (traits(p.plans[i].to).block_size > 1) block_tensors = true;
    deferred[t.name()] = DeferredTensor{
        p.plans[i].to, t.shape(), [&p, &options, i, n_plans] {
          const Tensor& src = p.ordered[i];
          options.cancel.throw_if_cancelled();
          if (options.on_progress) {
            options.on_progress(static_cast<int64_t>(i), n_plans, "quantize " + src.name());
          }
          std::vector<std::byte> bytes = quantize_one(p, i, options);
          // Done with the input: its file pages leave the RSS.
          release_mapped_pages(src.bytes());
          return bytes;
        }};
  }
  write_gguf_model(source, output, p.report.file_type, block_tensors, deferred);
  if (options.on_progress) options.on_progress(n_plans, n_plans, "quantized");
  if (report) {
    *report = p.report;
    report->seconds = seconds_since(start);
  }
}

}  // namespace slmkit

namespace slmkit::quant {

std::vector<float> imatrix_row_weights(const ImportanceMatrix& imatrix, const std::string& name,
                                       int64_t n_per_row) {
  std::vector<float> importance = imatrix.weights(name);
  if (!importance.empty() && importance.size() != static_cast<size_t>(n_per_row)) {
    // As llama.cpp: a mismatched imatrix is an error, except for the token embedding, which
    // always mismatches when an imatrix has it at all.
    if (name != "token_embd.weight") {
      fail_invalid("quantize: imatrix entry '{}' has {} values, the tensor's rows have {}", name,
                   importance.size(), n_per_row);
    }
    importance.clear();
  }
  for (float v : importance) {
    if (!std::isfinite(v)) fail_invalid("quantize: imatrix entry '{}' is not finite", name);
  }
  return importance;
}

}  // namespace slmkit::quant
