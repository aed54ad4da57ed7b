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
  return fmt::format(
      "smoothquant alpha {:g} on {} calibration tokens ({} chunks): {} norms folded, {} matrices "
      "without a norm left as they are; largest channel max/median {:.1f} -> {:.1f}",
      alpha, n_tokens, n_chunks, report.groups.size(), report.skipped.size(), before, after);
}

SmoothQuantResult smooth_with_calibration(const Model& model, const std::string& calibration_text,
                                          const SmoothQuantOptions& options,
                                          const SmoothQuantCalibration& calibration) {
  const Tokenizer tokenizer(model.vocab);
  const std::vector<int32_t> tokens = tokenizer.encode(calibration_text, true);
  ActivationRangeOptions ro;
  ro.n_ctx = calibration.n_ctx;
  ro.n_chunks = calibration.n_chunks;
  ro.add_bos = tokenizer.bos_id() >= 0 && !tokens.empty() && tokens.front() == tokenizer.bos_id();
  ro.bos_id = tokenizer.bos_id();
  ro.n_threads = calibration.n_threads;
  ActivationRanges ranges;
  {
    const Engine engine(model);
    ranges = collect_activation_ranges(engine, tokens, ro);
  }
  SmoothQuantResult r;
  r.model = smooth_model(model, ranges, options, &r.report);
  r.n_tokens = ranges.n_tokens;
  r.n_chunks = ranges.n_chunks;
  r.alpha = options.alpha;
  return r;
}

}  // namespace slmkit
