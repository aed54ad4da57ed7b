// quantize -t auto as one library call: the CLI, the pipeline and the MCP tool share it.
#include <fmt/format.h>

#include "core/fail.h"
#include "slmkit/quantize_auto.h"
#include "slmkit/tokenizer.h"

namespace slmkit {

QuantizeAutoResult quantize_auto(const Model& model, const QuantizeAutoOptions& options,
                                 const std::filesystem::path& output) {
  const bool sized = options.target_size > 0 || options.target_bpw > 0;
  if (options.target_size > 0 && options.target_bpw > 0) {
    fail_invalid("quantize -t auto: give --target-size or --target-bpw, not both");
  }
  if (!sized && !(options.min_decode_tps > 0)) {
    fail_invalid(
        "quantize -t auto needs a budget: --target-size, --target-bpw and/or --min-decode-tps");
  }
  if (options.calibration_text.empty()) {
    fail_invalid("quantize -t auto needs a calibration text (-f CALIB.txt)");
  }
  const Tokenizer tokenizer(model.vocab);
  AutoSensitivityOptions o;
  o.types = options.types;
  o.calibration = tokenizer.encode(options.calibration_text, true);
  o.n_ctx = options.n_ctx;
  o.n_chunks = options.n_chunks;
  // BOS per chunk exactly when the vocabulary adds one, as perplexity does.
  o.add_bos = tokenizer.bos_id() >= 0 && !o.calibration.empty() &&
              o.calibration.front() == tokenizer.bos_id();
  o.bos_id = tokenizer.bos_id();
  o.n_threads = options.n_threads;
  o.imatrix = options.imatrix;
  o.on_progress = options.on_progress;
  o.cancel = options.cancel;

  // Sizes first: an impossible size budget fails before anything is measured.
  const AutoSensitivity sizes = auto_candidates(model, options.types);
  const uint64_t target = options.target_size > 0  ? options.target_size
                          : options.target_bpw > 0 ? sizes.bytes_for_bpw(options.target_bpw)
                                                   : sizes.max_file_bytes();
  check_budget(sizes, target);

  QuantizeAutoResult r;
  r.sensitivity = measure_sensitivity(model, o);
  double max_seconds = 0;
  if (options.min_decode_tps > 0) {
    KernelCostOptions ko = options.costs;
    ko.n_threads = options.n_threads;
    r.costs = measure_kernel_costs(r.sensitivity, ko);
    attach_kernel_costs(r.sensitivity, r.costs, model);
    r.costs_measured = true;
    max_seconds = 1.0 / options.min_decode_tps;
  }
  r.plan = choose_mix(r.sensitivity, target, max_seconds);
  if (max_seconds > 0) {
    r.plan = meet_measured_speed(
        r.sensitivity, std::move(r.plan), target, max_seconds, [&](const AutoMixPlan& p) {
          return measure_mix_decode_seconds(model, r.sensitivity, p, options.n_threads);
        });
  }
  r.plan.measured_kld = measure_mix_kld(model, r.sensitivity, r.plan, o);
  if (options.dry_run) return r;
  QuantizeReport report;
  const Model quantized = apply_mix(model, r.sensitivity, r.plan, options.n_threads, &report);
  save_mix(quantized, r.sensitivity, r.plan, output);
  r.file_type = report.preset;
  r.written = true;
  return r;
}

}  // namespace slmkit
