// The main job: from one model, every requested artifact (GGUF types, ONNX precisions), each
// validated, benchmarked and described by a manifest, and a report (Markdown + HTML).
//
// Output tree under `out`:
//   NAME-F16.gguf, NAME-Q4_K_M.gguf, ...   one GGUF per requested type / preset
//   NAME-auto-4.5bpw.gguf (+ .mix.json)    one per requested measured mix (auto:BUDGET)
//   NAME_onnx/                             one optimum-style folder holding every ONNX precision
//   manifests/NAME-TYPE.json, manifests/NAME_onnx-PRECISION.json, manifests/checksums.txt
//   validation_reports/*_validation.json
//   report.md, report.html                 the summary (self-contained HTML with inline SVG)
// Artifacts are written under temporary names and renamed when complete; an artifact that already
// exists complete is kept (our writers are deterministic, so a re-run after a kill yields the same
// bytes), and temporaries a killed run left behind are removed first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/progress.h"
#include "slmkit/validate.h"

namespace slmkit {

struct PipelineOptions {
  std::filesystem::path model;  // any input format
  std::filesystem::path out;
  // The model's name in artifact file names, manifests and the report; "": the input's file or
  // folder name (GGUF general.name is often only the architecture, "llama").
  std::string name;
  std::vector<std::string> gguf = {"F16", "Q8_0", "Q4_K_M"};  // types / presets; empty: none
  std::vector<std::string> onnx = {"fp32", "int8", "q4"};     // precisions; empty: none
  // Graphs exported per precision: the no-cache graph and the KV-cache one that runtimes loop on
  // (prefill/decode are `slmkit export onnx`'s business; they would double the folder's size).
  std::vector<std::string> onnx_variants = {"plain", "with_past"};
  std::optional<std::filesystem::path> eval_text;  // perplexity text
  // Calibration text of mixed-precision GGUFs (gguf entries "auto:2091936", "auto:4.5bpw",
  // "auto:120tps": quantize -t auto under that budget); unset: eval_text.
  std::optional<std::filesystem::path> calibration_text;
  // SmoothQuant alpha in [0, 1]: every artifact is built from the input smoothed on the
  // calibration text (calibration_text, else eval_text); names get "-sqALPHA"; the baseline and
  // the reference stay the input as given (smoothing does not change the function).
  std::optional<double> smoothquant;
  int64_t ppl_ctx = 128;
  int64_t ppl_chunks = 8;
  int64_t bench_prompt = 128;
  int64_t bench_gen = 32;
  int bench_repetitions = 3;
  int n_threads = 0;
  double min_tokens_per_second = 10.0;
  // Other builds of slmkit to validate each GGUF artifact with, as shell command prefixes (e.g.
  // "scripts/cross.sh aarch64 exec --": the aarch64 build under qemu-user). A pass adds that
  // architecture to the artifact's manifest (verified_on); a failure is a problem of the run.
  std::vector<std::string> verify_with;
  // A greedy continuation of this prompt by the baseline and each GGUF artifact, shown in the
  // report (what a person reads to judge a quantization); sample_tokens 0: none.
  std::string sample_prompt = "Once upon a time";
  int64_t sample_tokens = 48;
  // A multiple-choice task (task_eval.h) scored on the baseline and every artifact, on the same
  // items: GGUF in our engine, ONNX through ONNX Runtime (about a second per choice sequence:
  // keep task_items small with ONNX artifacts). Read and checked before any work.
  std::optional<std::filesystem::path> task;
  std::string task_name;    // "": the file's stem; "os_benchmark" also fills the manifests'
                            // performance.os_benchmark_accuracy
  std::string task_format;  // hellaswag, winogrande, mc, jsonl; "": from the file's extension
  int64_t task_items = 0;   // items scored, picked as llama.cpp picks them; 0: all
  // With a task: each artifact's validation also fails when its accuracy is below this share of
  // the baseline's on the same items (check task_accuracy, as `slmkit validate
  // --min-accuracy-ratio`); unset: accuracy is reported, not judged.
  std::optional<double> min_accuracy_ratio;
  bool synthetic = false;  // the model was made by `slmkit synth`; the report says so (also set
                           // when the model's own metadata says it is synthetic)
  std::function<void(const std::string& line)> on_progress;
  // Looked at with every progress line (between steps, not inside one); a cancelled run throws
  // Cancelled, keeping the artifacts it finished (complete files, reused by a re-run) and no
  // temporaries.
  CancelToken cancel;
};

struct PipelineArtifact {
  std::string name;    // "stories260K-Q4_K_M" / "stories260K_onnx (int8)"
  std::string format;  // "gguf" / "onnx"; the baseline: the input's format
  std::string precision;
  std::filesystem::path path;  // relative to out (the baseline: the input as given)
  uint64_t size_bytes = 0;
  bool valid = false;
  std::string failed_check;                    // first failed check with its numbers, "" when valid
  std::vector<ValidationCheck> failed_checks;  // every failed check
  int n_checks = 0;                            // checks run (validation report)
  std::optional<double> perplexity;
  std::optional<double> perplexity_error;
  std::string perplexity_note;  // why there is no perplexity, when there is none
  // Mean KL divergence from the baseline's next-token distributions on the evaluation text (as
  // llama-perplexity --kl-divergence) and its standard error; none for the baseline itself.
  std::optional<double> kl_divergence;
  std::optional<double> kl_divergence_error;
  // The task's accuracy (llama.cpp's score, a fraction) and its standard error, over task_items.
  std::optional<double> task_accuracy;
  std::optional<double> task_accuracy_error;
  int64_t task_items = 0;
  std::string task_note;  // why there is no accuracy, when a task was given
  double prefill_tps = 0, decode_tps = 0;
  double latency_ms_mean = 0, latency_ms_std = 0;  // per decoded token
  uint64_t peak_rss_bytes = 0;
  std::string bench_note;          // why there are no speed numbers, when there are none
  std::string sample;              // the prompt and its greedy continuation; "" when not generated
  std::string sample_note;         // why there is no sample, when one was asked for
  bool baseline = false;           // the FP32 reference
  bool reused = false;             // found complete from an earlier run, not rebuilt
  std::string sha256;              // of the main file ("" for the baseline)
  std::filesystem::path manifest;  // relative to out
  std::filesystem::path validation_report;  // relative to out
};

struct PipelineResult {
  std::string model_name;
  std::string architecture;
  uint64_t parameters = 0;
  std::filesystem::path model;  // the input as given
  bool synthetic = false;
  std::string eval_text;  // file name of the perplexity text, "" when none
  std::string task;       // the task's name, "" when none
  std::string task_file;  // its file name
  std::string task_format;
  std::string smoothquant;  // what was smoothed (SmoothQuantResult::summary), "" when not asked
  int64_t ppl_ctx = 0, ppl_chunks = 0;
  int64_t bench_prompt = 0, bench_gen = 0;
  int bench_repetitions = 0;
  int n_threads = 0;
  int64_t sample_tokens = 0;
  std::vector<PipelineArtifact> artifacts;
  std::vector<std::string> problems;  // failures outside any one artifact (verify, a step's Error)
  bool passed = false;
  double seconds = 0;
};

// Throws Error for bad options; a failed validation is recorded (passed = false), the run goes on
// and the caller exits non-zero.
PipelineResult run_pipeline(const PipelineOptions& options);

// The summary: a Markdown table, and a self-contained HTML page (inline CSS and SVG charts of size,
// perplexity and tokens/s per artifact, the baseline marked; no external resources).
std::string pipeline_report_markdown(const PipelineResult& result);
std::string pipeline_report_html(const PipelineResult& result);

}  // namespace slmkit
