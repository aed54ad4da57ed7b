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
#include "slmkit/files.h"
#include "slmkit/inspect.h"
#include "slmkit/manifest.h"
#include "slmkit/quantize.h"
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
  std::string name(dtype_name(bytes.most().value_or(DType::F32)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return name;
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
  std::optional<fs::path> calibration;  // for auto: GGUFs (--calib, else --eval)
  std::vector<OnnxPrecision> precisions;
  std::vector<OnnxVariant> variants;  // the plain graph first (what validation and PPL run)
};

Plan plan_of(const PipelineOptions& o) {
  if (o.out.empty()) fail_invalid("pipeline: no output folder (-o)");
  Plan plan;
  for (const std::string& t : o.gguf) {
    if (const std::optional<AutoBudget> budget = parse_auto_budget(t)) {
      plan.calibration = o.calibration_text ? o.calibration_text : o.eval_text;
      if (!plan.calibration) {
        fail_invalid(
            "pipeline: --gguf {}: a measured mix needs a calibration text (--calib or "
            "--eval)",
            t);
      }
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
  for (const std::string& p : o.onnx) {
    plan.precisions.push_back(parse_onnx_precision(p));
    plan.artifacts.push_back({ArtifactFormat::onnx, plan.precisions.back()});
  }
  plan.variants = {OnnxVariant::plain};
  for (const std::string& v : o.onnx_variants) {
    const OnnxVariant variant = parse_onnx_variant(v);
    if (std::find(plan.variants.begin(), plan.variants.end(), variant) == plan.variants.end())
      plan.variants.push_back(variant);
  }
  if (o.ppl_ctx < 4) fail_invalid("pipeline: --ppl-ctx {}: need at least 4", o.ppl_ctx);
  if (o.bench_repetitions < 1) {
    fail_invalid("pipeline: --bench-reps {}: need at least 1", o.bench_repetitions);
  }
  if (o.bench_prompt < 0 || o.bench_gen < 0) fail_invalid("pipeline: negative benchmark sizes");
  if (o.sample_tokens < 0) fail_invalid("pipeline: --sample-tokens {}: negative", o.sample_tokens);
  return plan;
}

// Each stage's settings, taken from the options once.
struct Settings {
  PerplexitySettings perplexity;
  BenchOptions bench;
  ValidateOptions validate;
  SampleSettings sample;
  std::string model_name;  // what the manifests call the model
};

Settings settings_of(const PipelineOptions& o, const std::string& model_name) {
  Settings s;
  s.sample = {o.sample_prompt, o.sample_tokens, o.n_threads};
  s.model_name = model_name;
  s.perplexity = {o.ppl_ctx, o.ppl_chunks, o.n_threads};
  s.bench.n_prompt = o.bench_prompt;
  s.bench.n_gen = o.bench_gen;
  s.bench.repetitions = o.bench_repetitions;
  s.bench.n_threads = o.n_threads;
  s.validate.reference = o.model;  // names the reference, and lends a bare graph its tokenizer
  s.validate.min_tokens_per_second = o.min_tokens_per_second;
  s.validate.n_threads = o.n_threads;
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
    built = build_onnx(model, plan.precisions, plan.variants, out / folder);
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

// 2. The baseline: the input itself in our engine (its own precision: F32 compute).
PipelineArtifact measure_input(const Engine& input, const PipelineOptions& o,
                               const std::string& name, const EvalText* eval, const Settings& s) {
  PipelineArtifact a;
  a.name = name;
  a.format = input.model().source.format;
  a.precision = dominant_type(input.model());
  a.path = o.model;
  a.size_bytes = bytes_on_disk(o.model);
  a.baseline = true;
  a.valid = true;
  measure_perplexity(input, eval, s.perplexity, a);
  measure_speed(input, o.model, s.bench, a);
  generate_sample(input, s.sample, a);
  return a;
}

// 3. A GGUF: validated against the reference, then measured on the engine validation loaded.
Manifest measure_gguf(Artifact& a, validation::Reference& reference, const EvalText* eval,
                      const Settings& s, const fs::path& out) {
  const fs::path path = out / a.names.path;
  std::optional<validation::LoadedGguf> loaded;
  record_validation(validation::validate_gguf(path, &reference, s.validate, &loaded),
                    a.names.report_name, out, a.row);
  if (!loaded) {
    a.row.perplexity_note = a.row.bench_note = "not measured: the engine does not load it";
    return describe_artifact(path, out, s.model_name);
  }
  measure_perplexity(loaded->engine, eval, s.perplexity, a.row);
  measure_speed(loaded->engine, path, s.bench, a.row);
  generate_sample(loaded->engine, s.sample, a.row);
  return validation::describe_gguf(path, out, loaded->file, loaded->engine.model(), s.model_name);
}

// 3'. One precision of the ONNX folder, in ONNX Runtime; the folder is hashed once.
Manifest measure_onnx(Artifact& a, validation::Reference& reference, const EvalText* eval,
                      const Settings& s, const fs::path& out, std::optional<Manifest>& folder) {
  const fs::path dir = out / a.names.built;
  record_validation(validation::validate_onnx(out / a.names.path, &reference, s.validate),
                    a.names.report_name, out, a.row);
  measure_onnx_perplexity(dir, out / a.names.path, eval, s.perplexity, a.row);
  measure_onnx_speed(dir, a.spec.onnx_precision(), s.bench, a.row);
  if (!folder) folder = describe_artifact(dir, out, s.model_name);
  Manifest m = *folder;
  restrict_to_precision(m, a.names.built, a.spec.onnx_precision());
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
    m.synthetic = m.synthetic || result.synthetic;
    m.performance = performance_json(a.row);
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
      "      valid ({} checks){}{}", a.n_checks,
      a.perplexity ? fmt::format(", PPL {:.5g}", *a.perplexity) : std::string(),
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
  const Settings settings = settings_of(options, base);
  PipelineResult result = result_of(options, model, base);
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

  std::vector<Artifact> artifacts =
      build_artifacts(model, base, plan, out, options.n_threads, progress);

  const std::string input_precision = dominant_type(model);
  progress.step(fmt::format("measure the input ({} baseline)",
                            input_precision == "F32" ? "FP32" : input_precision));
  result.artifacts.push_back(
      measure_input(input, options, base, eval ? &*eval : nullptr, settings));

  // The reference every artifact is compared with: the input, run once per prompt.
  validation::Reference reference(input, options.model.filename().string(),
                                  settings.validate.n_compare, settings.validate.n_threads);
  Measured measured;
  for (Artifact& a : artifacts) {
    progress.step(fmt::format("validate, measure and describe {}", a.names.name));
    measure_artifact(a, reference, eval ? &*eval : nullptr, settings, out, measured, result);
    progress.note(measured_line(result.artifacts.back()));
  }

  progress.step("checksums, verify, report");
  result.seconds = clock.seconds();
  finish(result, measured.manifests, out);
  progress.note(fmt::format("pipeline: {} in {:.1f} s; report: {}",
                            result.passed ? "PASSED" : "FAILED", result.seconds,
                            (out / "report.html").string()));
  return result;
}

}  // namespace slmkit
