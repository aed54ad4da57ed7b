// quantize -t auto as one library call: the CLI, the pipeline and the MCP tool share it.
#include <algorithm>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/fail.h"
#include "slmkit/engine.h"
#include "slmkit/quantize_auto.h"
#include "slmkit/tokenizer.h"

namespace slmkit {
namespace {

// The first search under a --min-decode-tps budget. Where no plan is predicted fast enough, the
// prediction may be pessimistic (its fixed cost is timed on another plan, and a budget read off
// the benchmark can sit exactly on a preset's speed): the fastest plan within the bytes is timed,
// and only a measured miss is an error. Otherwise the budget the search sees is scaled by that
// plan's predicted / measured time.
AutoMixPlan first_timed_plan(const Model& model, const AutoSensitivity& s, uint64_t target,
                             double max_seconds, int n_threads) {
  try {
    return choose_mix(s, target, max_seconds);
  } catch (const Error&) {
    const AutoMixPlan fastest = fastest_mix(s, target);
    const double measured = measure_mix_decode_seconds(model, s, fastest, n_threads);
    if (measured > max_seconds) {
      fail_invalid(
          "quantize -t auto: a decode budget of {:.1f} tokens/s cannot be met within {} bytes; "
          "the fastest reachable plan decodes at {:.1f} tokens/s, measured ({:.1f} predicted "
          "from the measured kernel costs)",
          1.0 / max_seconds, target, 1.0 / measured, 1.0 / fastest.decode_seconds);
    }
    return choose_mix(s, target, max_seconds * fastest.decode_seconds / measured);
  }
}

}  // namespace

QuantizeAutoResult quantize_auto(const Model& model, const QuantizeAutoOptions& options,
                                 const std::filesystem::path& output) {
  const bool sized = options.target_size > 0 || options.target_bpw > 0;
  if (options.target_size > 0 && options.target_bpw > 0) {
    fail_invalid("quantize -t auto: give --target-size or --target-bpw, not both");
  }
  const bool referenced = !options.as_fast_as.empty();
  if (referenced && options.min_decode_tps > 0) {
    fail_invalid("quantize -t auto: give --min-decode-tps or --as-fast-as, not both");
  }
  if (!sized && !(options.min_decode_tps > 0) && !referenced) {
    fail_invalid(
        "quantize -t auto needs a budget: --target-size, --target-bpw and/or --min-decode-tps "
        "(or --as-fast-as FILE)");
  }
  // Loaded before any measuring, so a bad reference costs nothing.
  const std::optional<Engine> reference =
      referenced ? std::optional<Engine>(std::in_place, load_model(options.as_fast_as))
                 : std::nullopt;
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
  if (options.min_decode_tps > 0 || referenced) {
    KernelCostOptions ko = options.costs;
    ko.n_threads = options.n_threads;
    r.costs = measure_kernel_costs(r.sensitivity, ko);
    attach_kernel_costs(r.sensitivity, r.costs, model);
    r.costs_measured = true;
    max_seconds = referenced ? timed_decode_step_seconds(*reference, options.n_threads)
                             : 1.0 / options.min_decode_tps;
  }
  // Against a reference the budget is a time measured whole, which the per-product prediction
  // does not reach exactly (its fixed cost is timed on another plan). Where the reference is
  // itself a plan of the candidates (a preset of this model), the first search is held to that
  // plan's predicted time: the prediction's errors of scale then cancel, and the search trades
  // KLD for bytes at the reference's speed. Otherwise it starts from the plan of the bytes alone.
  // The timings in turns decide from there.
  const std::optional<AutoMixPlan> anchor =
      reference ? plan_of_types(r.sensitivity, reference->model()) : std::nullopt;
  if (anchor) {
    r.plan = choose_mix_against(r.sensitivity, target, *anchor);
  } else if (referenced || !(max_seconds > 0)) {
    r.plan = choose_mix(r.sensitivity, target);
  } else {
    r.plan = first_timed_plan(model, r.sensitivity, target, max_seconds, options.n_threads);
  }
  r.plan.max_decode_seconds = max_seconds;
  if (max_seconds > 0) {
    const double budget = max_seconds;
    struct Turns {
      double ratio;      // the plan's step / the reference's, timed in turns
      double reference;  // the reference's step then
    };
    std::vector<Turns> turns;  // per timing, in order (AutoMixPlan::speed_rounds)
    r.plan = meet_measured_speed(
        r.sensitivity, std::move(r.plan), target, max_seconds, [&](const AutoMixPlan& p) {
          if (!reference)
            return measure_mix_decode_seconds(model, r.sensitivity, p, options.n_threads);
          // Against a reference file, both are timed in turns, run by run (a machine's speed
          // drifts by more than the plans differ), and the plan's time is scaled to the budget's
          // moment: it meets the budget exactly when it is no slower than the reference.
          const Engine mix{apply_mix(model, r.sensitivity, p, options.n_threads)};
          const PairedDecodeTiming t =
              timed_decode_steps_in_turns(mix, *reference, options.n_threads);
          turns.push_back({t.ratio, t.b_seconds});
          return t.ratio * budget;
        });
    if (reference) {
      const Turns& t = turns.at(static_cast<size_t>(r.plan.speed_rounds - 1));
      r.plan.reference_decode_seconds = t.reference;
      r.plan.measured_decode_seconds = t.ratio * t.reference;  // at the moment it was timed
    }
    if (anchor) {
      r.plan.reference_sum_kld = anchor->sum_kld;
      r.plan.reference_predicted_seconds = anchor->decode_seconds;
    }
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
