// run_pipeline: the input loaded once; every artifact built (kept when complete from an earlier
// run); the input measured as the FP32 baseline; each artifact validated against the one
// reference run of the input, measured on what validation loaded and described by a manifest;
// then checksums, verification and the report.
#include "slmkit/pipeline.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "core/stopwatch.h"
#include "core/type_bytes.h"
#include "pipeline/artifacts.h"
#include "pipeline/measure.h"
#include "pipeline/report_cells.h"
#include "pipeline/sample_text.h"
#include "slmkit/export_onnx.h"
#include "slmkit/files.h"
#include "slmkit/inspect.h"
#include "slmkit/manifest.h"
#include "slmkit/quantize.h"
#include "slmkit/smoothquant.h"
#include "slmkit/task_eval.h"
#include "slmkit/tokenizer.h"
#include "validate/validate_loaded.h"

namespace slmkit {
namespace fs = std::filesystem;
using namespace pipeline;

namespace {

uint64_t bytes_on_disk(const fs::path& p) {
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return fs::file_size(p);
  uint64_t n = 0;
  if (fs::is_directory(p, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(p)) {
      if (e.is_regular_file()) n += e.file_size();
    }
  }
  return n;
}

// The weights' type as people name the input: the type holding most of its bytes.
std::string dominant_type(const Model& model) {
  TypeBytes bytes;
  for (const Tensor& t : model.tensors()) bytes.add(t.dtype(), t.n_bytes());
  return upper_dtype_name(bytes.most().value_or(DType::F32));
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
  return s.empty() ? "none" : s;
}

class Progress {
 public:
  Progress(const PipelineOptions& o, int n_steps) : options_(o), n_steps_(n_steps) {}
  void note(const std::string& line) const {
    options_.cancel.throw_if_cancelled();
    if (options_.on_progress) options_.on_progress(line);
  }
  void step(const std::string& what) {
    ++step_;
    note(fmt::format("[{}/{}] {}", step_, n_steps_, what));
  }

 private:
  const PipelineOptions& options_;
  int n_steps_;
  int step_ = 0;
};

// What the options ask for, typed and checked before any work, so a typo costs nothing.
struct Plan {
  std::vector<ArtifactSpec> artifacts;  // GGUFs, then ONNX precisions
  // --calib, else --eval: set when a step calibrates (auto GGUFs, --smoothquant, --onnx w8a8).
  std::optional<fs::path> calibration;
  std::optional<SmoothQuantOptions> smoothing;
  std::vector<OnnxPrecision> precisions;
  std::vector<OnnxVariant> variants;  // the plain graph first (what validation and PPL run)
  std::optional<Task> task;           // read whole, so a malformed file stops the run here
};

Plan plan_of(const PipelineOptions& o) {
  if (o.out.empty()) fail_invalid("pipeline: no output folder (-o)");
  Plan plan;
  auto calibrated_by = [&](const std::string& step) {
    plan.calibration = o.calibration_text ? o.calibration_text : o.eval_text;
    if (!plan.calibration) {
      fail_invalid("pipeline: {} needs a calibration text (--calib or --eval)", step);
    }
  };
  for (const std::string& t : o.gguf) {
    if (const std::optional<AutoBudget> budget = parse_auto_budget(t)) {
      calibrated_by("--gguf " + t + " (a measured mix)");
      plan.artifacts.push_back({ArtifactFormat::gguf, *budget});
      continue;
    }
    const auto preset = quant::preset_from_name(t);
    if (!preset) {
      fail_invalid("pipeline: --gguf {}: unknown type; expected one of {}", t,
                   join(quantize_type_names()));
    }
    plan.artifacts.push_back({ArtifactFormat::gguf, *preset});
  }
  if (o.smoothquant) {
    calibrated_by("--smoothquant");
    plan.smoothing = parse_smoothquant(*o.smoothquant);
  }
  for (const std::string& p : o.onnx) {
    plan.precisions.push_back(parse_onnx_precision(p));
    plan.artifacts.push_back({ArtifactFormat::onnx, plan.precisions.back()});
    if (plan.precisions.back() == OnnxPrecision::w8a8) calibrated_by("--onnx w8a8");
  }
  plan.variants = {OnnxVariant::plain};
  for (const std::string& v : o.onnx_variants) {
    const OnnxVariant variant = parse_onnx_variant(v);
    if (std::find(plan.variants.begin(), plan.variants.end(), variant) == plan.variants.end())
      plan.variants.push_back(variant);
  }
  if (!o.onnx.empty() && !onnx_supported()) {
    fail_unsupported(
        "pipeline: --onnx {}: this build of slmkit has no ONNX support (configured with "
        "SLMKIT_ONNX=OFF); pass --onnx none",
        join(o.onnx));
  }
  if (o.ppl_ctx < 4) fail_invalid("pipeline: --ppl-ctx {}: need at least 4", o.ppl_ctx);
  if (o.bench_repetitions < 1) {
    fail_invalid("pipeline: --bench-reps {}: need at least 1", o.bench_repetitions);
  }
  if (o.bench_prompt < 0 || o.bench_gen < 0) fail_invalid("pipeline: negative benchmark sizes");
  if (o.sample_tokens < 0) fail_invalid("pipeline: --sample-tokens {}: negative", o.sample_tokens);
  if (o.task_items < 0) fail_invalid("pipeline: --task-items {}: negative", o.task_items);
  if (o.task) {
    plan.task = o.task_format.empty() ? read_task(*o.task)
                                      : read_task(*o.task, parse_task_format(o.task_format));
    if (!o.task_name.empty()) plan.task->name = o.task_name;
  } else if (!o.task_name.empty() || !o.task_format.empty() || o.task_items != 0 ||
             o.min_accuracy_ratio) {
    fail_invalid(
        "pipeline: --task-name, --task-format, --task-items and --min-accuracy-ratio need "
        "--task FILE");
  }
  if (o.min_accuracy_ratio && !(*o.min_accuracy_ratio > 0)) {
    fail_invalid("pipeline: --min-accuracy-ratio {}: expected a number above 0",
                 *o.min_accuracy_ratio);
  }
  return plan;
}

// Each stage's settings, taken from the options once.
struct Settings {
  PerplexitySettings perplexity;
  BenchOptions bench;
  ValidateOptions validate;
  SampleSettings sample;
  TaskSettings task;
  std::optional<Tokenizer> tokenizer;    // the input's: an ONNX folder's task runs take it
  std::string model_name;                // what the manifests call the model
  std::vector<std::string> verify_with;  // other builds that validate each GGUF again
};

Settings settings_of(const PipelineOptions& o, const Plan& plan, const Model& model,
                     const std::string& model_name) {
  Settings s;
  if (plan.task) {
    s.task.task = &*plan.task;
    s.task.options.n_items = o.task_items;
    s.task.options.n_threads = o.n_threads;
    s.task.min_accuracy_ratio = o.min_accuracy_ratio;
    // Through ONNX Runtime a task runs for minutes: cancellable per item, and a line now and
    // then once it is slow enough to wonder about.
    s.task.options.on_item = [&o](const TaskProgress& p) {
      o.cancel.throw_if_cancelled();
      if (o.on_progress && p.seconds > 5 && (p.done % 20 == 0 || p.done == p.total)) {
        o.on_progress(fmt::format("      task: {} of {} items, {} right, {:.0f} s", p.done, p.total,
                                  p.correct, p.seconds));
      }
    };
    s.tokenizer.emplace(model.vocab);
  }
  s.sample = {o.sample_prompt, o.sample_tokens, o.n_threads};
  s.model_name = model_name;
  // A temporary (".partial-": a killed run's is removed by the next), removed at the end.
  s.perplexity = {o.ppl_ctx, o.ppl_chunks, o.n_threads, o.out / "eval-logits.partial-base",
                  model.config.vocab_size};
  s.bench.n_prompt = o.bench_prompt;
  s.bench.n_gen = o.bench_gen;
  s.bench.repetitions = o.bench_repetitions;
  s.bench.n_threads = o.n_threads;
  s.validate.reference = o.model;  // names the reference, and lends a bare graph its tokenizer
  s.validate.min_tokens_per_second = o.min_tokens_per_second;
  s.validate.n_threads = o.n_threads;
  s.verify_with = o.verify_with;
  return s;
}

PipelineResult result_of(const PipelineOptions& o, const Model& model, const std::string& base) {
  PipelineResult r;
  r.model_name = base;
  r.architecture = model.config.arch;
  r.parameters = static_cast<uint64_t>(model.n_parameters());
  r.model = o.model;
  r.synthetic = o.synthetic || model.source.synthetic;
  r.ppl_ctx = o.ppl_ctx;
  r.ppl_chunks = o.ppl_chunks;
  r.bench_prompt = o.bench_prompt;
  r.bench_gen = o.bench_gen;
  r.bench_repetitions = o.bench_repetitions;
  r.n_threads = o.n_threads;
  r.sample_tokens = o.sample_tokens;
  if (o.task) r.task_file = o.task->filename().string();
  return r;
}

// An artifact on its way through the stages.
struct Artifact {
  ArtifactSpec spec;
  ArtifactNames names;
  PipelineArtifact row;
  std::string build_error;  // the build failed: not measured
};

Artifact artifact_of(const std::string& base, const ArtifactSpec& spec) {
  Artifact a{spec, artifact_names(base, spec), {}, {}};
  a.row.name = a.names.name;
  a.row.format = spec.format == ArtifactFormat::gguf ? "gguf" : "onnx";
  a.row.precision = precision_name(spec);
  a.row.path = a.names.path;
  return a;
}

// 1. Build. A failed build is recorded and the run goes on with the others.
std::vector<Artifact> build_artifacts(const Model& model, const std::string& base, const Plan& plan,
                                      const fs::path& out, int n_threads, Progress& progress) {
  const std::string calibration =
      plan.calibration ? read_text_file(*plan.calibration) : std::string();
  std::vector<Artifact> artifacts;
  for (const ArtifactSpec& spec : plan.artifacts) artifacts.push_back(artifact_of(base, spec));
  auto report = [&](const BuildOutcome& b, const fs::path& built) {
    progress.note(b.reused ? fmt::format("      kept (complete from an earlier run), {}",
                                         human_bytes(bytes_on_disk(built)))
                           : fmt::format("      {} in {:.1f} s", human_bytes(bytes_on_disk(built)),
                                         b.seconds));
  };
  for (Artifact& a : artifacts) {
    if (a.spec.format != ArtifactFormat::gguf) continue;
    progress.step("build " + a.names.built.string());
    try {
      const BuildOutcome b =
          a.spec.is_auto()
              ? build_auto_gguf(model, a.spec.auto_budget(), calibration, out / a.names.built,
                                n_threads)
              : build_gguf(model, a.spec.gguf_preset(), out / a.names.built, n_threads);
      a.row.reused = b.reused;
      a.row.size_bytes = bytes_on_disk(out / a.names.built);
      report(b, out / a.names.built);
    } catch (const Error& e) {
      a.build_error = one_line(e.what());
      progress.note("      FAILED: " + a.build_error);
    }
  }
  if (plan.precisions.empty()) return artifacts;
  const fs::path folder = onnx_folder(base);
  std::vector<std::string> names;
  for (OnnxPrecision p : plan.precisions) names.emplace_back(onnx_precision_name(p));
  progress.step(fmt::format("export {} ({})", folder.string(), join(names)));
  std::optional<BuildOutcome> built;
  std::string error;
  try {
    // w8a8's static scales are taken on the model exported (after smoothing, when smoothed).
    built = build_onnx(model, plan.precisions, plan.variants, out / folder,
                       [&] { return calibrate_input_max(model, calibration, {}); });
    report(*built, out / folder);
  } catch (const Error& e) {
    error = one_line(e.what());
    progress.note("      FAILED: " + error);
  }
  for (Artifact& a : artifacts) {
    if (a.spec.format != ArtifactFormat::onnx) continue;
    a.row.reused = built && built->reused;
    a.build_error = error;
  }
  return artifacts;
}

// 2. The baseline: the input itself in our engine (its own precision: F32 compute). Its task
// score is the reference's, kept there for every artifact's accuracy floor.
PipelineArtifact measure_input(const Engine& input, const PipelineOptions& o,
                               const std::string& name, const EvalText* eval, const Settings& s,
                               validation::Reference& reference) {
  PipelineArtifact a;
  a.name = name;
  a.format = input.model().source.format;
  a.precision = dominant_type(input.model());
  a.path = o.model;
  a.size_bytes = bytes_on_disk(o.model);
  a.baseline = true;
  a.valid = true;
  measure_perplexity(input, eval, s.perplexity, a);
  if (s.task.task) {
    try {
      record_task(reference.task_result(*s.task.task, s.task.options), a);
    } catch (const Error& e) {
      a.task_note = one_line(e.what());
    }
  }
  measure_speed(input, o.model, s.bench, a);
  generate_sample(input, s.sample, a);
  return a;
}

// With --min-accuracy-ratio: the artifact's accuracy against the baseline's on the same items,
// added to its validation report as `slmkit validate --min-accuracy-ratio` checks it. An
// accuracy that could not be measured fails the check: a floor was asked for.
void judge_task(ValidationReport& report, const std::optional<TaskResult>& artifact,
                validation::Reference& reference, const TaskSettings& s, const std::string& note) {
  if (!s.task || !s.min_accuracy_ratio) return;
  std::string why = "not measured: " + note;
  try {
    const TaskResult& baseline = reference.task_result(*s.task, s.options);
    if (artifact) {
      validation::add_task_accuracy_check(report, *artifact, baseline, reference.name(),
                                          s.min_accuracy_ratio);
      return;
    }
  } catch (const Error& e) {
    why = "the baseline's accuracy not measured: " + one_line(e.what());
  }
  ValidationCheck c;
  c.name = "task_accuracy";
  c.category = "functional";
  c.detail = why;
  report.checks.push_back(c);
}

// 3. A GGUF: validated against the reference, then measured on the engine validation loaded.
Manifest measure_gguf(Artifact& a, validation::Reference& reference, const EvalText* eval,
                      const Settings& s, const fs::path& out) {
  const fs::path path = out / a.names.path;
  std::optional<validation::LoadedGguf> loaded;
  ValidationReport report = validation::validate_gguf(path, &reference, s.validate, &loaded);
  std::optional<TaskResult> task;
  if (loaded) {
    task = measure_task(loaded->engine, s.task, a.row);
  } else if (s.task.task) {
    a.row.task_note = "not measured: the engine does not load it";
  }
  judge_task(report, task, reference, s.task, a.row.task_note);
  report = record_validation(std::move(report), a.names.report_name, out, a.row);
  if (!loaded) {
    a.row.perplexity_note = a.row.bench_note = "not measured: the engine does not load it";
    return describe_artifact(path, out, s.model_name);
  }
  measure_perplexity(loaded->engine, eval, s.perplexity, a.row);
  measure_speed(loaded->engine, path, s.bench, a.row);
  generate_sample(loaded->engine, s.sample, a.row);
  Manifest m =
      validation::describe_gguf(path, out, loaded->file, loaded->engine.model(), s.model_name);
  add_verification(m, report);
  return m;
}

// 3''. A valid GGUF validated again by each other build (--verify-with); passes go to the
// manifest's verified_on, failures to the problems.
void verify_through_others(const Artifact& a, const Settings& s, const fs::path& out, Manifest& m,
                           std::vector<std::string>& problems) {
  for (const std::string& runner : s.verify_with) {
    try {
      const ValidationReport r =
          validate_through(runner, out / a.names.path, s.validate.reference.value(),
                           s.validate.n_threads, a.names.report_name, out);
      if (r.passed()) {
        add_verification(m, r);
      } else {
        const ValidationCheck* c = r.first_failure();
        problems.push_back(fmt::format("`{}` on {} ({}): {}", a.names.name, r.ran_on.arch,
                                       r.ran_on.how,
                                       c ? one_line(check_summary(*c)) : "no checks ran"));
      }
    } catch (const Error& e) {
      problems.push_back(
          fmt::format("`{}` through `{}`: {}", a.names.name, runner, one_line(e.what())));
    }
  }
}

// 3'. One precision of the ONNX folder, in ONNX Runtime; the folder is hashed once.
Manifest measure_onnx(Artifact& a, validation::Reference& reference, const EvalText* eval,
                      const Settings& s, const fs::path& out, std::optional<Manifest>& folder) {
  const fs::path dir = out / a.names.built;
  ValidationReport report = validation::validate_onnx(out / a.names.path, &reference, s.validate);
  std::optional<TaskResult> task;
  if (s.tokenizer) task = measure_onnx_task(dir, out / a.names.path, *s.tokenizer, s.task, a.row);
  judge_task(report, task, reference, s.task, a.row.task_note);
  report = record_validation(std::move(report), a.names.report_name, out, a.row);
  measure_onnx_perplexity(dir, out / a.names.path, eval, s.perplexity, a.row);
  measure_onnx_speed(dir, a.spec.onnx_precision(), s.bench, a.row);
  if (!folder) folder = describe_artifact(dir, out, s.model_name);
  Manifest m = *folder;
  restrict_to_precision(m, a.names.built, a.spec.onnx_precision());
  add_verification(m, report);
  a.row.size_bytes = m.size_bytes;
  return m;
}

// What the artifacts' measurements leave for the end: their manifests, and the ONNX folder's.
struct Measured {
  std::vector<Manifest> manifests;
  std::optional<Manifest> onnx_folder;
};

// 3. One artifact: its measurements and manifest, its row in `result` (a step's Error is
// recorded there and the run goes on).
void measure_artifact(Artifact& a, validation::Reference& reference, const EvalText* eval,
                      const Settings& s, const fs::path& out, Measured& measured,
                      PipelineResult& result) {
  if (!a.build_error.empty()) {
    a.row.failed_check = "build: " + a.build_error;
    result.problems.push_back(fmt::format("`{}` was not built: {}", a.names.name, a.build_error));
    result.artifacts.push_back(a.row);
    return;
  }
  try {
    Manifest m = a.spec.format == ArtifactFormat::gguf
                     ? measure_gguf(a, reference, eval, s, out)
                     : measure_onnx(a, reference, eval, s, out, measured.onnx_folder);
    if (a.spec.format == ArtifactFormat::gguf && a.row.valid) {
      verify_through_others(a, s, out, m, result.problems);
    }
    m.synthetic = m.synthetic || result.synthetic;
    m.performance = performance_json(a.row, s.task.task ? s.task.task->name : std::string());
    write_file_atomic(out / a.names.manifest, m.to_json().dump(2) + "\n");
    a.row.manifest = a.names.manifest;
    a.row.sha256 = m.checksum.rfind("sha256:", 0) == 0 ? m.checksum.substr(7) : m.checksum;
    if (a.row.size_bytes == 0) a.row.size_bytes = m.size_bytes;
    measured.manifests.push_back(std::move(m));
  } catch (const Error& e) {
    a.row.valid = false;
    if (a.row.failed_check.empty()) a.row.failed_check = one_line(e.what());
    result.problems.push_back(fmt::format("`{}`: {}", a.names.name, one_line(e.what())));
  }
  result.artifacts.push_back(a.row);
}

std::string measured_line(const PipelineArtifact& a) {
  if (!a.valid) return "      FAILED: " + a.failed_check;
  return fmt::format(
      "      valid ({} checks){}{}{}{}", a.n_checks,
      a.perplexity ? fmt::format(", PPL {:.5g}", *a.perplexity) : std::string(),
      a.kl_divergence ? fmt::format(", KLD {:.5g}", *a.kl_divergence) : std::string(),
      a.task_accuracy ? fmt::format(", accuracy {:.2f} %", 100 * *a.task_accuracy) : std::string(),
      a.decode_tps > 0 ? fmt::format(", decode {:.1f} t/s", a.decode_tps) : std::string());
}

// 4. Checksums of every file, verified as a user would; then the report.
void finish(PipelineResult& result, const std::vector<Manifest>& manifests, const fs::path& out) {
  if (!manifests.empty()) {
    try {
      const fs::path sums = write_checksums(manifests, out / "manifests");
      for (const VerifyProblem& p : verify_manifest(sums)) {
        result.problems.push_back(fmt::format("verify: `{}` {}", p.path.string(), p.what));
      }
    } catch (const Error& e) {
      result.problems.push_back("checksums: " + one_line(e.what()));
    }
  }
  result.passed = result.problems.empty();
  for (const PipelineArtifact& a : result.artifacts) result.passed &= a.valid;
  write_file_atomic(out / "report.md", pipeline_report_markdown(result));
  write_file_atomic(out / "report.html", pipeline_report_html(result));
}

}  // namespace

PipelineResult run_pipeline(const PipelineOptions& options) {
  const Stopwatch clock;
  const Plan plan = plan_of(options);
  const fs::path out = options.out;

  const Engine input(load_model(options.model));
  const Model& model = input.model();
  const std::string base = artifact_base_name(model, options.model, options.name);
  const Settings settings = settings_of(options, plan, model, base);
  PipelineResult result = result_of(options, model, base);
  if (plan.task) {
    result.task = plan.task->name;
    result.task_format = std::string(task_format_name(plan.task->format));
  }
  std::optional<EvalText> eval;
  if (options.eval_text) {
    eval = read_eval_text(*options.eval_text, model.vocab, options.ppl_ctx);
    result.eval_text = options.eval_text->filename().string();
  }

  const int n_builds = static_cast<int>(options.gguf.size()) + (plan.precisions.empty() ? 0 : 1);
  Progress progress(options, n_builds + 1 + static_cast<int>(plan.artifacts.size()) + 1);
  progress.note(fmt::format(
      "pipeline: {} ({}, {} parameters{}) -> {}; GGUF: {}; ONNX: {}", result.model_name,
      result.architecture, human_count(static_cast<int64_t>(result.parameters)),
      result.synthetic ? ", synthetic" : "", out.string(), join(options.gguf), join(options.onnx)));
  fs::create_directories(out / "manifests");
  fs::create_directories(out / "validation_reports");
  if (const int n = remove_stale_temporaries(out); n > 0) {
    progress.note(fmt::format("removed {} temporaries left by an interrupted run", n));
  }

  // SmoothQuant: the artifacts come from the smoothed model, under their own names (a re-run
  // without it must not reuse them); the reference stays the input.
  std::optional<SmoothQuantResult> smoothed;
  if (plan.smoothing) {
    SmoothQuantCalibration calibration;
    calibration.n_threads = options.n_threads;
    smoothed = smooth_with_calibration(model, read_text_file(*plan.calibration), *plan.smoothing,
                                       calibration);
    result.smoothquant =
        smoothed->summary() + " (calibration text `" + plan.calibration->filename().string() + "`)";
    progress.note("pipeline: " + result.smoothquant);
  }
  const std::string artifact_base = smoothed ? fmt::format("{}-sq{}", base, smoothed->alpha) : base;
  std::vector<Artifact> artifacts = build_artifacts(
      smoothed ? smoothed->model : model, artifact_base, plan, out, options.n_threads, progress);
  if (smoothed) {
    for (Artifact& a : artifacts) {
      a.row.precision += " + SmoothQuant " + smoothed->alpha;
    }
  }

  const std::string input_precision = dominant_type(model);
  progress.step(fmt::format("measure the input ({} baseline)",
                            input_precision == "F32" ? "FP32" : input_precision));
  // The reference every artifact is compared with: the input, run once per prompt (and once on
  // the task, which is also the baseline's score).
  validation::Reference reference(input, options.model.filename().string(),
                                  settings.validate.n_compare, settings.validate.n_threads);
  // The baseline's log-probabilities are only needed while the artifacts are measured (removed
  // before the checksums, and by this guard when a step throws).
  struct RemoveKlBase {
    const fs::path& path;
    void operator()() const {
      std::error_code ec;
      fs::remove(path, ec);
    }
    ~RemoveKlBase() { (*this)(); }
  } remove_kl_base{settings.perplexity.kl_base};
  result.artifacts.push_back(
      measure_input(input, options, base, eval ? &*eval : nullptr, settings, reference));
  Measured measured;
  for (Artifact& a : artifacts) {
    progress.step(fmt::format("validate, measure and describe {}", a.names.name));
    measure_artifact(a, reference, eval ? &*eval : nullptr, settings, out, measured, result);
    progress.note(measured_line(result.artifacts.back()));
  }
  remove_kl_base();

  progress.step("checksums, verify, report");
  result.seconds = clock.seconds();
  finish(result, measured.manifests, out);
  progress.note(fmt::format("pipeline: {} in {:.1f} s; report: {}",
                            result.passed ? "PASSED" : "FAILED", result.seconds,
                            (out / "report.html").string()));
  return result;
}

}  // namespace slmkit
