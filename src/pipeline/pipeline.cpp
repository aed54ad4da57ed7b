// run_pipeline: build every artifact (kept when complete from an earlier run), then measure the
// input as the FP32 baseline and each artifact, write manifests, checksums and the report.
#include "slmkit/pipeline.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "pipeline/artifacts.h"
#include "pipeline/measure.h"
#include "pipeline/sample_text.h"
#include "slmkit/inspect.h"
#include "slmkit/manifest.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"

namespace slmkit {
namespace fs = std::filesystem;
using namespace pipeline;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

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
  std::map<std::string, uint64_t> bytes;
  for (const Tensor& t : model.tensors()) bytes[std::string(dtype_name(t.dtype()))] += t.n_bytes();
  std::string best = "F32";
  uint64_t most = 0;
  for (const auto& [name, n] : bytes) {
    if (n > most) {
      most = n;
      best = name;
    }
  }
  std::transform(best.begin(), best.end(), best.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return best;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_io("--eval {}: cannot open the text file", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
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

// Checks everything that can be checked before any work, so a typo costs nothing.
void check_options(const PipelineOptions& o) {
  if (o.out.empty()) fail_invalid("pipeline: no output folder (-o)");
  const std::vector<std::string> types = quantize_type_names();
  for (const std::string& t : o.gguf) {
    if (std::find(types.begin(), types.end(), t) == types.end()) {
      fail_invalid("pipeline: --gguf {}: unknown type; expected one of {}", t, join(types));
    }
  }
  for (const std::string& p : o.onnx) parse_onnx_precision(p);
  for (const std::string& v : o.onnx_variants) parse_onnx_variant(v);
  if (o.ppl_ctx < 4) fail_invalid("pipeline: --ppl-ctx {}: need at least 4", o.ppl_ctx);
  if (o.bench_repetitions < 1) {
    fail_invalid("pipeline: --bench-reps {}: need at least 1", o.bench_repetitions);
  }
  if (o.bench_prompt < 0 || o.bench_gen < 0) fail_invalid("pipeline: negative benchmark sizes");
  if (o.sample_tokens < 0) fail_invalid("pipeline: --sample-tokens {}: negative", o.sample_tokens);
}

}  // namespace

PipelineResult run_pipeline(const PipelineOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  check_options(options);
  const fs::path out = options.out;
  std::vector<OnnxPrecision> precisions;
  for (const std::string& p : options.onnx) precisions.push_back(parse_onnx_precision(p));
  std::vector<OnnxVariant> variants = {OnnxVariant::plain};  // what validation and PPL run
  for (const std::string& v : options.onnx_variants) {
    const OnnxVariant variant = parse_onnx_variant(v);
    if (std::find(variants.begin(), variants.end(), variant) == variants.end()) {
      variants.push_back(variant);
    }
  }

  Model model = load_model(options.model);
  PipelineResult result;
  result.model_name = artifact_base_name(model, options.model, options.name);
  result.architecture = model.config.arch;
  result.parameters = static_cast<uint64_t>(model.n_parameters());
  result.model = options.model;
  result.synthetic = options.synthetic || model.source.synthetic;
  result.ppl_ctx = options.ppl_ctx;
  result.ppl_chunks = options.ppl_chunks;
  result.bench_prompt = options.bench_prompt;
  result.bench_gen = options.bench_gen;
  result.bench_repetitions = options.bench_repetitions;
  result.n_threads = options.n_threads;
  result.sample_tokens = options.sample_tokens;

  MeasureContext ctx;
  ctx.options = &options;
  ctx.out = out;
  if (options.eval_text) {
    const Tokenizer tokenizer(model.vocab);
    const std::vector<int32_t> tokens = tokenizer.encode(read_text_file(*options.eval_text), true);
    if (static_cast<int64_t>(tokens.size()) < 2 * options.ppl_ctx) {
      fail_invalid("--eval {}: {} tokens, perplexity with --ppl-ctx {} needs at least {}",
                   options.eval_text->string(), tokens.size(), options.ppl_ctx,
                   2 * options.ppl_ctx);
    }
    // BOS per chunk exactly when the vocabulary adds one (llama_vocab_get_add_bos).
    ctx.add_bos = tokenizer.bos_id() >= 0 && tokens.front() == tokenizer.bos_id();
    ctx.bos_id = tokenizer.bos_id();
    ctx.eval_tokens = tokens;
    result.eval_text = options.eval_text->filename().string();
  }

  const std::string& base = result.model_name;
  const int n_artifacts = static_cast<int>(options.gguf.size() + precisions.size());
  const int n_builds = static_cast<int>(options.gguf.size()) + (precisions.empty() ? 0 : 1);
  Progress progress(options, n_builds + 1 + n_artifacts + 1);
  progress.note(fmt::format(
      "pipeline: {} ({}, {} parameters{}) -> {}; GGUF: {}; ONNX: {}", result.model_name,
      result.architecture, human_count(static_cast<int64_t>(result.parameters)),
      result.synthetic ? ", synthetic" : "", out.string(), join(options.gguf), join(options.onnx)));

  fs::create_directories(out / "manifests");
  fs::create_directories(out / "validation_reports");
  if (const int n = remove_stale_temporaries(out); n > 0) {
    progress.note(fmt::format("removed {} temporaries left by an interrupted run", n));
  }

  // 1. Build. A failed build is recorded and the run goes on with the others.
  std::vector<PipelineArtifact> artifacts;
  std::map<std::string, std::string> build_errors;  // artifact name -> message
  for (const std::string& type : options.gguf) {
    PipelineArtifact a;
    a.name = gguf_artifact_name(base, type);
    a.format = "gguf";
    a.precision = type;
    a.path = gguf_artifact_file(base, type);
    progress.step("build " + a.path.string());
    try {
      const BuildOutcome b = build_gguf(model, type, out / a.path, options.n_threads);
      a.reused = b.reused;
      a.size_bytes = bytes_on_disk(out / a.path);
      progress.note(
          b.reused ? fmt::format("      kept (complete from an earlier run), {}",
                                 human_bytes(a.size_bytes))
                   : fmt::format("      {} in {:.1f} s", human_bytes(a.size_bytes), b.seconds));
    } catch (const Error& e) {
      build_errors[a.name] = one_line(e.what());
      progress.note("      FAILED: " + build_errors[a.name]);
    }
    artifacts.push_back(std::move(a));
  }
  const fs::path onnx_dir = onnx_folder(base);
  if (!precisions.empty()) {
    progress.step(fmt::format("export {} ({})", onnx_dir.string(), join(options.onnx)));
    std::string error;
    bool reused = false;
    try {
      const BuildOutcome b = build_onnx(model, precisions, variants, out / onnx_dir);
      reused = b.reused;
      progress.note(b.reused ? std::string("      kept (complete from an earlier run)")
                             : fmt::format("      {} in {:.1f} s",
                                           human_bytes(bytes_on_disk(out / onnx_dir)), b.seconds));
    } catch (const Error& e) {
      error = one_line(e.what());
      progress.note("      FAILED: " + error);
    }
    for (size_t i = 0; i < precisions.size(); ++i) {
      PipelineArtifact a;
      a.name = fmt::format("{} ({})", onnx_dir.string(), onnx_precision_name(precisions[i]));
      a.format = "onnx";
      a.precision = onnx_precision_name(precisions[i]);
      a.path = onnx_dir / pipeline_graph(precisions[i]);
      a.reused = reused;
      if (!error.empty()) build_errors[a.name] = error;
      artifacts.push_back(std::move(a));
    }
  }

  // 2. The baseline: the input itself in our engine (FP32 compute).
  PipelineArtifact baseline;
  baseline.name = result.model_name;
  baseline.format = model.source.format;
  baseline.precision = dominant_type(model);
  baseline.path = options.model;
  baseline.size_bytes = bytes_on_disk(options.model);
  baseline.baseline = true;
  baseline.valid = true;
  model = Model();  // the artifacts are built; measuring loads each from its file
  progress.step(fmt::format("measure the input ({} baseline)",
                            baseline.precision == "F32" ? "FP32" : baseline.precision));
  measure_engine_perplexity(ctx, options.model, baseline);
  measure_engine_speed(ctx, options.model, baseline);
  generate_sample(ctx, options.model, baseline);
  result.artifacts.push_back(baseline);

  // 3. Each artifact: validate, perplexity, speed, manifest.
  std::vector<Manifest> manifests;
  size_t onnx_index = 0;
  std::optional<Manifest> onnx_described;
  for (PipelineArtifact& a : artifacts) {
    progress.step(fmt::format("validate, measure and describe {}", a.name));
    if (auto it = build_errors.find(a.name); it != build_errors.end()) {
      a.failed_check = "build: " + it->second;
      result.problems.push_back(fmt::format("`{}` was not built: {}", a.name, it->second));
      result.artifacts.push_back(a);
      if (a.format == "onnx") ++onnx_index;
      continue;
    }
    try {
      Manifest m;
      if (a.format == "gguf") {
        validate_into(ctx, out / a.path, a.path.filename().string(), a);
        measure_engine_perplexity(ctx, out / a.path, a);
        measure_engine_speed(ctx, out / a.path, a);
        generate_sample(ctx, out / a.path, a);
        m = describe_artifact(out / a.path, out, result.model_name);
      } else {
        const OnnxPrecision p = precisions[onnx_index++];
        const std::string stem = onnx_dir.string() + "-" + onnx_precision_name(p);
        validate_into(ctx, out / onnx_dir / pipeline_graph(p), stem + ".onnx", a);
        measure_onnx_perplexity(ctx, out / onnx_dir, p, a);
        measure_onnx_speed(ctx, out / onnx_dir, p, a);
        // The folder is hashed once; each precision keeps its own files of it.
        if (!onnx_described) {
          onnx_described = describe_artifact(out / onnx_dir, out, result.model_name);
        }
        m = *onnx_described;
        restrict_to_precision(m, onnx_dir, p);
        a.size_bytes = m.size_bytes;
      }
      m.synthetic = m.synthetic || result.synthetic;
      m.performance = performance_json(a);
      if (a.format == "gguf") {
        a.manifest = fs::relative(write_manifest(m, out / "manifests"), out);
      } else {
        // One manifest per precision of the one export folder, named for both.
        a.manifest = fs::path("manifests") / (onnx_dir.string() + "-" + a.precision + ".json");
        write_file_atomic(out / a.manifest, m.to_json().dump(2) + "\n");
      }
      a.sha256 = m.checksum.rfind("sha256:", 0) == 0 ? m.checksum.substr(7) : m.checksum;
      if (a.size_bytes == 0) a.size_bytes = m.size_bytes;
      manifests.push_back(std::move(m));
    } catch (const Error& e) {
      a.valid = false;
      if (a.failed_check.empty()) a.failed_check = one_line(e.what());
      result.problems.push_back(fmt::format("`{}`: {}", a.name, one_line(e.what())));
    }
    progress.note(
        a.valid
            ? fmt::format("      valid ({} checks){}{}", a.n_checks,
                          a.perplexity ? fmt::format(", PPL {:.5g}", *a.perplexity) : std::string(),
                          a.decode_tps > 0 ? fmt::format(", decode {:.1f} t/s", a.decode_tps)
                                           : std::string())
            : "      FAILED: " + a.failed_check);
    result.artifacts.push_back(a);
  }

  // 4. Checksums of every file, verified as a user would; then the report.
  progress.step("checksums, verify, report");
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
  result.seconds = seconds_since(start);
  write_file_atomic(out / "report.md", pipeline_report_markdown(result));
  write_file_atomic(out / "report.html", pipeline_report_html(result));
  progress.note(fmt::format("pipeline: {} in {:.1f} s; report: {}",
                            result.passed ? "PASSED" : "FAILED", result.seconds,
                            (out / "report.html").string()));
  return result;
}

}  // namespace slmkit
