// slmkit validate PATH [--reference MODEL] [--out DIR] [--json]
//                 [--task FILE [--task-format F] [--task-items N] [--min-accuracy-ratio R]]
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "commands.h"
#include "slmkit/validate.h"

namespace slmkit::cli {

void register_validate(CLI::App& app) {
  struct Args {
    std::string path;
    std::string reference;
    std::string task;
    double min_accuracy_ratio = 0;
    std::string out = "validation_reports";
    bool json = false;
    bool format_only = false;
    ValidateOptions options;
    double tolerance = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "validate",
      "Check a GGUF file or ONNX graph/folder: format, then logits, top-5, greedy agreement "
      "and speed against the FP32 reference; writes DIR/NAME_{gguf,onnx}_validation.json");
  sub->add_option("path", args->path, "GGUF file, .onnx graph or ONNX export folder")->required();
  sub->add_option("--reference", args->reference,
                  "FP32 reference of the same model (GGUF, Hugging Face folder, llama2.c)");
  sub->add_option("--out", args->out, "Report folder (default: validation_reports)");
  sub->add_flag("--json", args->json, "Print the report as JSON");
  sub->add_flag("--format-only", args->format_only, "Only the format checks (nothing is run)");
  sub->add_option("--prompt", args->options.prompt, "Prompt of the functional checks");
  sub->add_option("--n-compare", args->options.n_compare, "Greedy tokens compared (default 32)");
  sub->add_option("--min-tokens-per-second", args->options.min_tokens_per_second,
                  "Decode speed floor (default 10)");
  sub->add_option("--tolerance", args->tolerance,
                  "Logit bound (max |diff| / reference range) instead of the precision's");
  sub->add_option("-t,--threads", args->options.n_threads, "Threads (0: all)");
  sub->add_option("--task", args->task,
                  "Multiple-choice task file (as `slmkit eval` reads): the artifact's accuracy "
                  "and the reference's on the same items (check task_accuracy). ONNX is scored "
                  "through ONNX Runtime at about a second per choice sequence: use --task-items");
  sub->add_option("--task-format", args->options.task_format,
                  "hellaswag, winogrande, mc or jsonl (default: from the extension)");
  sub->add_option("--task-items", args->options.task_items,
                  "Task items scored, picked as llama.cpp picks them (default 0: all)");
  sub->add_option("--min-accuracy-ratio", args->min_accuracy_ratio,
                  "With --task: fail when the artifact's accuracy is below R x the reference's "
                  "(default: measured, not judged)");
  add_command(sub, [args] {
    ValidateOptions o = args->options;
    if (!args->reference.empty()) o.reference = args->reference;
    o.functional = !args->format_only;
    if (args->tolerance > 0) o.logits_tolerance = args->tolerance;
    if (!args->task.empty()) o.task = args->task;
    if (args->min_accuracy_ratio != 0) o.min_accuracy_ratio = args->min_accuracy_ratio;
    const ValidationReport report = validate_artifact(args->path, o);
    const auto written = write_validation_report(report, args->out);
    if (args->json) {
      std::printf("%s\n", report.to_json().dump(2).c_str());
    } else {
      std::printf("%s (%s, %s): %s, %zu checks in %.2f s\n", report.artifact.c_str(),
                  report.format.c_str(), report.precision.c_str(),
                  report.passed() ? "PASS" : "FAIL", report.checks.size(), report.seconds);
      for (const ValidationCheck& c : report.checks) {
        std::string num;
        if (c.value) num = fmt::format(" {:.4g}", *c.value);
        if (c.bound) num += fmt::format(" {} {:.4g}", c.comparison, *c.bound);
        std::printf("  %-4s %-10s %s%s  %s\n", c.passed ? "ok" : "FAIL", c.category.c_str(),
                    c.name.c_str(), num.c_str(), c.detail.c_str());
      }
      std::printf("report: %s\n", written.string().c_str());
    }
    std::fflush(stdout);
    if (!report.passed()) std::exit(1);
  });
}

}  // namespace slmkit::cli
