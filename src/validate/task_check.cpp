// Task accuracy as a functional check: the artifact and the reference scored by the evaluator
// (evaluate_task) on the same items, the artifact held to a share of the reference's accuracy.
#include <fmt/format.h>

#include "core/fail.h"
#include "slmkit/error.h"
#include "slmkit/tokenizer.h"
#include "validate/checks.h"
#include "validate/validate_loaded.h"

namespace slmkit::validation {
namespace fs = std::filesystem;

namespace {

TaskEvalOptions eval_options(const ValidateOptions& o) {
  TaskEvalOptions t;
  t.n_items = o.task_items;
  t.n_threads = o.n_threads;
  return t;
}

}  // namespace

// The paired difference says whether a drop is more than the items' noise, which the two
// accuracies' own errors (far larger, as most answers agree) cannot.
void record_task_accuracy(const TaskResult& artifact, const TaskResult& reference,
                          const std::string& reference_name, const std::string& suffix,
                          std::optional<double> min_ratio, Checks& checks) {
  const TaskComparison c = compare_task_results(reference, artifact);
  const std::string detail = fmt::format(
      "{} ({} items): accuracy {:.2f} +/- {:.2f} % vs {:.2f} +/- {:.2f} % for {}; paired "
      "difference {:+.2f} +/- {:.2f} %, {} answers changed",
      artifact.name, artifact.n_items, 100 * artifact.accuracy, 100 * artifact.accuracy_error,
      100 * reference.accuracy, 100 * reference.accuracy_error, reference_name, 100 * c.difference,
      100 * c.difference_error, c.changed);
  const std::string name = "task_accuracy" + suffix;
  if (min_ratio) {
    checks.measure(name, artifact.accuracy, ">=", *min_ratio * reference.accuracy,
                   detail + fmt::format("; floor {} x the reference's", *min_ratio));
    return;
  }
  checks.record(name, artifact.accuracy, detail + "; no --min-accuracy-ratio: not judged");
}

void add_task_accuracy_check(ValidationReport& report, const TaskResult& artifact,
                             const TaskResult& reference, const std::string& reference_name,
                             std::optional<double> min_ratio) {
  Checks checks(report.checks, "functional");
  record_task_accuracy(artifact, reference, reference_name, "", min_ratio, checks);
}

std::optional<Task> validation_task(const ValidateOptions& o) {
  if (!o.task) {
    if (o.min_accuracy_ratio || o.task_items != 0 || !o.task_format.empty()) {
      fail_invalid("validate: --min-accuracy-ratio, --task-items and --task-format need --task");
    }
    return std::nullopt;
  }
  if (o.min_accuracy_ratio && !(*o.min_accuracy_ratio > 0)) {
    fail_invalid("validate: --min-accuracy-ratio {}: expected a number above 0",
                 *o.min_accuracy_ratio);
  }
  if (o.task_items < 0) fail_invalid("validate: --task-items {}: negative", o.task_items);
  return o.task_format.empty() ? read_task(*o.task)
                               : read_task(*o.task, parse_task_format(o.task_format));
}

void gguf_task_check(const Engine& artifact, Reference& reference, const Task& task,
                     const ValidateOptions& options, Checks& checks) {
  try {
    const TaskResult& ref = reference.task_result(task, eval_options(options));
    const TaskResult art =
        evaluate_task(artifact, Tokenizer(artifact.model().vocab), task, eval_options(options));
    record_task_accuracy(art, ref, reference.name(), "", options.min_accuracy_ratio, checks);
  } catch (const Error& e) {
    checks.expect("task_accuracy", false, e.what());
  }
}

void onnx_task_check(const artifact::Info& info, const std::string& precision,
                     const std::string& suffix, Reference* reference, const Task& task,
                     const ValidateOptions& options, Checks& checks) {
  const auto plain = [&](const std::string& p) -> const artifact::OnnxGraph* {
    for (const artifact::OnnxGraph& g : info.graphs) {
      if (g.precision == p && g.variant == "plain") return &g;
    }
    return nullptr;
  };
  const std::string name = "task_accuracy" + suffix;
  const artifact::OnnxGraph* graph = plain(precision);
  if (!graph || info.root.empty()) {
    checks.expect(name, false,
                  fmt::format("scoring a task needs an export folder (config.json) with a no-cache "
                              "graph of {} (decoder_model*.onnx)",
                              precision));
    return;
  }
  try {
    const bool own =
        fs::exists(info.root / "tokenizer.json") || fs::exists(info.root / "tokenizer.model");
    if (!own && !options.reference) {
      checks.expect(name, false,
                    fmt::format("no tokenizer in {}; give --reference to use the reference's",
                                info.root.string()));
      return;
    }
    const Tokenizer tokenizer = Tokenizer::from_path(own ? info.root : *options.reference);
    const TaskEvalOptions o = eval_options(options);
    const TaskResult art = evaluate_task_onnx(info.root, graph->path, tokenizer, task, o);
    if (reference) {
      record_task_accuracy(art, reference->task_result(task, o), reference->name(), suffix,
                           options.min_accuracy_ratio, checks);
    } else if (options.reference) {
      const Engine engine(load_model(*options.reference));
      record_task_accuracy(art, evaluate_task(engine, Tokenizer(engine.model().vocab), task, o),
                           options.reference->filename().string(), suffix,
                           options.min_accuracy_ratio, checks);
    } else {
      // No reference model: the folder's fp32 graph, else the graph itself.
      const artifact::OnnxGraph* fp32 = plain("fp32");
      const artifact::OnnxGraph* ref = fp32 ? fp32 : graph;
      record_task_accuracy(
          art, ref == graph ? art : evaluate_task_onnx(info.root, ref->path, tokenizer, task, o),
          ref->path.filename().string() + (ref == graph ? " itself (no --reference)" : ""), suffix,
          options.min_accuracy_ratio, checks);
    }
  } catch (const Error& e) {
    checks.expect(name, false, e.what());
  }
}

}  // namespace slmkit::validation
