// Measured sensitivity for -t auto: each quantizable tensor alone in each candidate type, the
// model run by our engine on the calibration chunks, its KL divergence from the loaded model.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "formats/model_io.h"
#include "quant/imatrix_weights.h"
#include "quant/presets.h"
#include "quant/quant.h"
#include "quant/type_traits.h"
#include "slmkit/engine.h"
#include "slmkit/perplexity.h"
#include "slmkit/quantize_auto.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

// The loaded model's log-probabilities on the calibration chunks, in a temporary base file
// (llama-perplexity's format, read by the KL driver) that lives as long as this object: nothing is
// kept between runs, so nothing can go stale.
class CalibrationKl {
 public:
  CalibrationKl(const Model& model, const AutoSensitivityOptions& options) {
    static std::atomic<uint64_t> counter{0};
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            fmt::format("slmkit-auto-{:x}-{}.kl", rd(), counter.fetch_add(1));
    perplexity_.n_ctx = options.n_ctx;
    perplexity_.n_chunks = options.n_chunks;
    perplexity_.add_bos = options.add_bos;
    perplexity_.bos_id = options.bos_id;
    perplexity_.n_threads = options.n_threads;
    const int64_t needed = std::max<int64_t>(2, options.n_chunks) * options.n_ctx;
    if (static_cast<int64_t>(options.calibration.size()) < needed) {
      fail_invalid(
          "quantize -t auto: {} calibration tokens; {} chunks of {} need at least {} (give a "
          "longer calibration text)",
          options.calibration.size(), options.n_chunks, options.n_ctx, needed);
    }
    const Engine engine{Model(model)};
    const PerplexityResult r = write_kl_base(engine, options.calibration, perplexity_, path_);
    base_ppl_ = r.ppl;
  }
  ~CalibrationKl() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  CalibrationKl(const CalibrationKl&) = delete;
  CalibrationKl& operator=(const CalibrationKl&) = delete;

  KlDivergenceResult measure(Model model) const {
    const Engine engine{std::move(model)};
    return compute_kl_divergence(engine, path_, perplexity_);
  }
  double base_ppl() const { return base_ppl_; }

 private:
  fs::path path_;
  PerplexityOptions perplexity_;
  double base_ppl_ = 0;
};

std::vector<DType> candidate_types(const std::vector<std::string>& names) {
  if (names.empty()) fail_invalid("quantize -t auto: no candidate types");
  std::vector<DType> out;
  for (const std::string& n : names) {
    const std::optional<DType> t = dtype_from_name(n);
    const quant::QuantTraits* q = t ? quant::quant_traits(*t) : nullptr;
    if (!q || !q->llama_ftype) {
      fail_invalid(
          "quantize -t auto: candidate type '{}' is not a type slmkit quantizes weights to "
          "(e.g. Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16, F32)",
          n);
    }
    if (std::find(out.begin(), out.end(), *t) == out.end()) out.push_back(*t);
  }
  return out;
}

}  // namespace

std::vector<std::string> default_auto_types() {
  return {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0", "F16"};
}

uint64_t AutoSensitivity::min_file_bytes() const {
  uint64_t n = header_bytes + fixed_bytes;
  for (const AutoTensor& t : tensors) n += padded(t.candidates.front().bytes);
  return n;
}

uint64_t AutoSensitivity::max_file_bytes() const {
  uint64_t n = header_bytes + fixed_bytes;
  for (const AutoTensor& t : tensors) n += padded(t.candidates.back().bytes);
  return n;
}

uint64_t AutoSensitivity::bytes_for_bpw(double bpw) const {
  if (!(bpw > 0)) fail_invalid("quantize -t auto: --target-bpw {} is not positive", bpw);
  return header_bytes + static_cast<uint64_t>(bpw * static_cast<double>(n_elements) / 8.0);
}

AutoSensitivity auto_candidates(const Model& model, const std::vector<std::string>& names) {
  const std::vector<DType> types = candidate_types(names);
  AutoSensitivity s;
  // Any block type among the candidates puts general.quantization_version into the header; the
  // search counts the header with it (the larger one), and a plan without block types is smaller.
  const GgufModelLayout layout = gguf_model_layout(model, 0, true);
  s.header_bytes = layout.header_bytes;
  s.header_bytes_plain = gguf_model_layout(model, 0, false).header_bytes;
  s.alignment = layout.alignment;

  for (const gguf::Writer::TensorLayout& t : layout.tensors) {
    const Tensor* tensor = model.find(t.name);
    uint64_t elements = 1;
    if (tensor) {
      for (int64_t d : tensor->shape()) elements *= static_cast<uint64_t>(d);
    } else {
      elements = t.n_bytes / 4;  // a tensor the writer computes (rope factors): F32
    }
    s.n_elements += elements;
    if (!tensor || !quant::tensor_allows_quantization(*tensor)) {
      s.fixed_bytes += s.padded(t.n_bytes);
      continue;
    }
    if (!traits(tensor->dtype()).is_float) {
      fail_invalid(
          "quantize -t auto: tensor '{}' is already {}; measure from a float model (F32, F16, "
          "BF16)",
          tensor->name(), dtype_name(tensor->dtype()));
    }
    AutoTensor at;
    at.name = tensor->name();
    at.from = std::string(dtype_name(tensor->dtype()));
    at.shape = tensor->shape();
    const int64_t ncols = at.shape.back();
    const uint64_t rows = elements / static_cast<uint64_t>(ncols);
    for (DType asked : types) {
      const DType type = quant::type_for_row(asked, ncols);
      bool seen = false;
      for (const AutoCandidate& c : at.candidates) seen = seen || c.type == dtype_name(type);
      if (seen) continue;
      const DTypeTraits& tt = traits(type);
      AutoCandidate c;
      c.type = std::string(dtype_name(type));
      c.asked = std::string(dtype_name(asked));
      c.bytes = rows * static_cast<uint64_t>(ncols) / tt.block_size * tt.block_bytes;
      c.kld = std::numeric_limits<double>::quiet_NaN();  // not measured yet
      at.candidates.push_back(std::move(c));
    }
    std::stable_sort(at.candidates.begin(), at.candidates.end(),
                     [](const AutoCandidate& a, const AutoCandidate& b) {
                       return a.bytes != b.bytes ? a.bytes < b.bytes : a.type < b.type;
                     });
    s.tensors.push_back(std::move(at));
  }
  if (s.tensors.empty()) fail_invalid("quantize -t auto: the model has no quantizable tensor");
  std::sort(s.tensors.begin(), s.tensors.end(),
            [](const AutoTensor& a, const AutoTensor& b) { return a.name < b.name; });
  return s;
}

AutoSensitivity measure_sensitivity(const Model& model, const AutoSensitivityOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  AutoSensitivity s = auto_candidates(model, options.types);
  s.imatrix = options.imatrix;
  const CalibrationKl kl(model, options);
  s.base_ppl = kl.base_ppl();
  int64_t total = 0, done = 0;
  for (const AutoTensor& t : s.tensors) total += static_cast<int64_t>(t.candidates.size());
  for (AutoTensor& at : s.tensors) {
    const Tensor& t = *model.find(at.name);
    const int64_t ncols = at.shape.back();
    for (AutoCandidate& c : at.candidates) {
      options.cancel.throw_if_cancelled();
      if (options.on_progress) options.on_progress(done, total, at.name + " " + c.type);
      ++done;
      const DType type = *dtype_from_name(c.type);
      if (type == t.dtype()) {
        c.kld = 0;  // the loaded tensor itself: the base model
        continue;
      }
      const std::vector<float> importance =
          options.imatrix ? quant::imatrix_row_weights(*options.imatrix, at.name, ncols)
                          : std::vector<float>();
      std::vector<std::byte> bytes =
          quant::quantize_tensor_rows(type, t.dtype(), t.bytes(), ncols, options.n_threads,
                                      importance.empty() ? nullptr : importance.data(), false);
      if (bytes.size() != c.bytes) {
        fail(ErrorKind::internal, "quantize -t auto: '{}' as {} has {} bytes, {} were counted",
             at.name, c.type, bytes.size(), c.bytes);
      }
      Model m = model;
      m.remove(at.name);
      m.add(Tensor::owned(at.name, type, at.shape, std::move(bytes)));
      const KlDivergenceResult r = kl.measure(std::move(m));
      c.kld = r.kld_mean;
      s.n_scored = r.count;
    }
  }
  if (options.on_progress) options.on_progress(total, total, "sensitivity measured");
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

double measure_mix_kld(const Model& model, const AutoSensitivity& sensitivity,
                       const AutoMixPlan& plan, const AutoSensitivityOptions& options) {
  const CalibrationKl kl(model, options);
  return kl.measure(apply_mix(model, sensitivity, plan, options.n_threads)).kld_mean;
}

Model apply_mix(const Model& model, const AutoSensitivity& sensitivity, const AutoMixPlan& plan,
                int n_threads, QuantizeReport* report) {
  QuantizeOptions o;
  o.type = "F32";  // every quantizable tensor is named in tensor_types; the rest are kept
  o.n_threads = n_threads;
  o.tensor_types = plan.tensor_types(sensitivity);
  o.imatrix = sensitivity.imatrix;
  return quantize_model(model, o, report);
}

void save_mix(const Model& quantized, const AutoSensitivity& sensitivity, const AutoMixPlan& plan,
              const std::filesystem::path& path) {
  save_model(quantized, path, ModelFormat::gguf);
  const uint64_t on_disk = fs::file_size(path);
  if (on_disk != plan.file_bytes) {
    std::error_code ec;
    fs::remove(path, ec);
    fail(ErrorKind::internal, "quantize -t auto: {} has {} bytes, the plan counted {}",
         path.string(), on_disk, plan.file_bytes);
  }
  AtomicFile json(path.string() + ".mix.json");
  json.write(plan.to_json(sensitivity).dump(2) + "\n");
  json.commit();
}

}  // namespace slmkit
