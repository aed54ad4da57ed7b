// SmoothQuant from a calibration text: the ranges through our engine, then the fold.
#include <algorithm>

#include <fmt/format.h>

#include "slmkit/smoothquant.h"
#include "slmkit/tokenizer.h"

namespace slmkit {

std::string SmoothQuantResult::summary() const {
  float before = 0, after = 0;
  for (const SmoothedGroup& g : report.groups) {
    before = std::max(before, g.x_ratio_before);
    after = std::max(after, g.x_ratio_after);
  }
  std::string chosen = alpha;
  if (alpha == "auto" && !report.groups.empty()) {
    double lo = 1, hi = 0;
    for (const SmoothedGroup& g : report.groups)
      lo = std::min(lo, g.alpha), hi = std::max(hi, g.alpha);
    chosen += fmt::format(" ({:g} to {:g} per norm)", lo, hi);
  }
  return fmt::format(
      "smoothquant alpha {} on {} calibration tokens ({} chunks): {} norms folded, {} matrices "
      "without a norm left as they are; largest channel max/median {:.1f} -> {:.1f}",
      chosen, n_tokens, n_chunks, report.groups.size(), report.skipped.size(), before, after);
}

namespace {

struct CalibrationRun {
  std::vector<int32_t> tokens;
  ActivationRangeOptions options;
};

CalibrationRun calibration_run(const Model& model, const std::string& text,
                               const SmoothQuantCalibration& calibration) {
  const Tokenizer tokenizer(model.vocab);
  CalibrationRun run;
  run.tokens = tokenizer.encode(text, true);
  ActivationRangeOptions& ro = run.options;
  ro.n_ctx = calibration.n_ctx;
  ro.n_chunks = calibration.n_chunks;
  ro.add_bos =
      tokenizer.bos_id() >= 0 && !run.tokens.empty() && run.tokens.front() == tokenizer.bos_id();
  ro.bos_id = tokenizer.bos_id();
  ro.n_threads = calibration.n_threads;
  return run;
}

}  // namespace

std::map<std::string, float> calibrate_input_max(const Model& model,
                                                 const std::string& calibration_text,
                                                 const SmoothQuantCalibration& calibration) {
  const CalibrationRun run = calibration_run(model, calibration_text, calibration);
  const Engine engine(model);
  const ActivationRanges ranges = collect_activation_ranges(engine, run.tokens, run.options);
  std::map<std::string, float> out;
  for (const auto& [name, columns] : ranges.max_abs) {
    out[name] = columns.empty() ? 0.0f : *std::max_element(columns.begin(), columns.end());
  }
  return out;
}

SmoothQuantResult smooth_with_calibration(const Model& model, const std::string& calibration_text,
                                          const SmoothQuantOptions& options,
                                          const SmoothQuantCalibration& calibration) {
  CalibrationRun run = calibration_run(model, calibration_text, calibration);
  const std::vector<int32_t>& tokens = run.tokens;
  ActivationRangeOptions& ro = run.options;
  ro.sample_rows = options.auto_alpha ? calibration.sample_rows : 0;
  for (int64_t l = 0; ro.sample_rows > 0 && l < model.config.n_layer; ++l) {
    for (const char* norm : {"attn_norm", "ffn_norm"}) {
      const std::vector<std::string> readers =
          norm_readers(model, "blk." + std::to_string(l) + "." + norm);
      if (!readers.empty()) ro.sample_of.push_back(readers.front());
    }
  }
  ActivationRanges ranges;
  {
    const Engine engine(model);
    ranges = collect_activation_ranges(engine, tokens, ro);
  }
  SmoothQuantResult r;
  r.model = smooth_model(model, ranges, options, &r.report);
  r.n_tokens = ranges.n_tokens;
  r.n_chunks = ranges.n_chunks;
  r.alpha = smoothquant_name(options);
  return r;
}

}  // namespace slmkit
