// The pipeline's measuring stages. Each takes what was loaded (an engine, an export folder) and
// only the settings it uses, and records its numbers on the PipelineArtifact; a stage that
// cannot run records why instead of stopping the run.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "slmkit/bench.h"
#include "slmkit/engine.h"
#include "slmkit/export_onnx.h"
#include "slmkit/manifest.h"
#include "slmkit/perplexity.h"
#include "slmkit/pipeline.h"
#include "slmkit/task_eval.h"
#include "slmkit/vocab.h"

namespace slmkit::pipeline {

// The evaluation text, tokenized once with the input's vocabulary; BOS per chunk exactly when
// the vocabulary adds one (llama_vocab_get_add_bos). Error(invalid_input) for a text too short
// for two chunks of ppl_ctx.
struct EvalText {
  std::vector<int32_t> tokens;
  bool add_bos = false;
  int32_t bos_id = -1;
};
EvalText read_eval_text(const std::filesystem::path& path, const Vocab& vocab, int64_t ppl_ctx);

struct PerplexitySettings {
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;
  int n_threads = 0;
  // The baseline's log-probabilities on the evaluation text (llama-perplexity's
  // --kl-divergence-base file), written by the baseline's perplexity pass; every artifact's pass
  // then also gives its KL divergence from them. Empty: perplexity only.
  std::filesystem::path kl_base;
  int64_t n_vocab = 0;
};

// Our engine on a loaded model (the input, or a GGUF artifact as validation loaded it). The
// baseline (a.baseline) writes s.kl_base; artifacts compare with it when it was written.
void measure_perplexity(const Engine& engine, const EvalText* eval, const PerplexitySettings& s,
                        PipelineArtifact& a);
void measure_speed(const Engine& engine, const std::filesystem::path& file,
                   const BenchOptions& options, PipelineArtifact& a);

// ONNX Runtime on one precision of the export folder (`graph`: its no-cache graph).
void measure_onnx_perplexity(const std::filesystem::path& export_dir,
                             const std::filesystem::path& graph, const EvalText* eval,
                             const PerplexitySettings& s, PipelineArtifact& a);
void measure_onnx_speed(const std::filesystem::path& export_dir, OnnxPrecision precision,
                        const BenchOptions& options, PipelineArtifact& a);

// The task every model is scored on (null: none), and how.
struct TaskSettings {
  const Task* task = nullptr;
  TaskEvalOptions options;  // n_items, n_threads; the rest as `slmkit eval` defaults them
  std::optional<double> min_accuracy_ratio;  // judged in validation when set
};

// The task's accuracy with the evaluation's scorer (evaluate_task): on a loaded model with its
// own vocabulary, or through ONNX Runtime on one precision of the export folder. A failure is
// recorded as a.task_note (and nullopt returned, as without a task).
std::optional<TaskResult> measure_task(const Engine& engine, const TaskSettings& s,
                                       PipelineArtifact& a);
std::optional<TaskResult> measure_onnx_task(const std::filesystem::path& export_dir,
                                            const std::filesystem::path& graph,
                                            const Tokenizer& tokenizer, const TaskSettings& s,
                                            PipelineArtifact& a);
// A task result scored elsewhere (the baseline's, by the validation reference) on `a`.
void record_task(const TaskResult& r, PipelineArtifact& a);

// Records the verdict and every failed check of `report` on `a`, writes it as
// out/validation_reports/STEM_*_validation.json (STEM: the stem of `report_name`, a file name
// with its extension, so that dots inside a model's name survive) and returns it.
ValidationReport record_validation(ValidationReport report, const std::string& report_name,
                                   const std::filesystem::path& out, PipelineArtifact& a);

// Validates a GGUF artifact again through another build of slmkit: `runner` is a shell command
// prefix that runs it (e.g. "scripts/cross.sh aarch64 exec --" for the aarch64 build under
// qemu-user), against `reference`. Its report (written under out/validation_reports/, named for
// the architecture it ran on) says where it ran. The speed floor is dropped: an emulator's speed
// says nothing about the target's. Error when the runner cannot run or prints no report.
ValidationReport validate_through(const std::string& runner, const std::filesystem::path& path,
                                  const std::filesystem::path& reference, int n_threads,
                                  const std::string& report_name, const std::filesystem::path& out);

// The manifest's performance block from what was measured; `task_name` names the task the
// accuracy was measured on (docs/pipeline.md, "Manifests").
nlohmann::ordered_json performance_json(const PipelineArtifact& a, const std::string& task_name);

// Keeps the files of one ONNX precision (its graphs and their external data, and the folder's
// config and tokenizer files) in a manifest that describes the whole export folder.
void restrict_to_precision(Manifest& m, const std::filesystem::path& folder,
                           OnnxPrecision precision);

// "a.b: message" shortened to one line for a table cell.
std::string one_line(const std::string& text, size_t max_chars = 160);

}  // namespace slmkit::pipeline
