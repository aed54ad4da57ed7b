// validate_artifact: format checks first; functional checks only on bytes that parse. The
// pipeline calls validate_gguf / validate_onnx with its one reference and keeps what was loaded.
#include "validate/validate_loaded.h"

#include <fmt/format.h>

#include "core/stopwatch.h"
#include "slmkit/error.h"
#include "slmkit/tokenizer.h"
#include "validate/checks.h"

namespace slmkit::validation {
namespace {

// Progress over the stages: the format checks, then one functional stage per precision (a GGUF
// has one); the cancel token is looked at before each and at the end.
class Stages {
 public:
  Stages(const ValidateOptions& options, int64_t n_stages) : o_(options), n_(n_stages) {}
  void next(const std::string& what) {
    o_.cancel.throw_if_cancelled();
    if (o_.on_progress) o_.on_progress(stage_, n_, what);
    ++stage_;
  }
  void done() const {
    o_.cancel.throw_if_cancelled();
    if (o_.on_progress) o_.on_progress(n_, n_, "validated");
  }

 private:
  const ValidateOptions& o_;
  int64_t n_;
  int64_t stage_ = 0;
};

}  // namespace

ValidationReport validate_gguf(const std::filesystem::path& path, Reference* reference,
                               const ValidateOptions& options, std::optional<LoadedGguf>* loaded) {
  const Stopwatch clock;
  const std::optional<Task> task = validation_task(options);  // bad input stops here
  ValidationReport report;
  report.artifact = path.string();
  report.ran_on = current_platform();
  report.format = "gguf";
  Checks checks(report.checks, "format");
  Stages stages(options, options.functional ? 2 : 1);
  stages.next("format checks");
  std::optional<GgufRead> read = gguf_format_checks(path, checks);
  try {
    report.precision = read ? artifact::gguf_quantization(read->file)
                            : artifact::gguf_quantization(gguf::read_file(path));
  } catch (const Error&) {
    report.precision = "unknown";  // the format checks say why
  }
  if (!read) {
    stages.done();
    report.seconds = clock.seconds();
    return report;
  }
  std::optional<Engine> engine;
  std::vector<int32_t> prompt;
  if (options.functional) {
    stages.next("functional checks");
    checks.set_category("functional");
    try {
      prompt = Tokenizer(read->model.vocab).encode(options.prompt);
      engine.emplace(Model(read->model));  // the engine's own checks: shapes, runnable types
      checks.expect("functional.loads", true,
                    fmt::format("engine loads it; prompt \"{}\" is {} tokens", options.prompt,
                                prompt.size()));
    } catch (const Error& e) {
      checks.expect("functional.loads", false, e.what());
    }
  }
  if (engine) {
    // Without a reference from the caller: the one the options name, else the artifact widened.
    std::optional<Engine> own;
    std::optional<Reference> own_reference;
    try {
      if (!reference) {
        std::string name = "the artifact widened to F32 (no --reference)";
        if (options.reference) {
          own.emplace(load_model(*options.reference));
          name = options.reference->filename().string();
        } else {
          own.emplace(widened_to_f32(read->model));
        }
        own_reference.emplace(*own, name, options.n_compare, options.n_threads, !options.reference);
        reference = &*own_reference;
      }
    } catch (const Error& e) {
      checks.expect("functional.reference", false, e.what());
    }
    if (reference) {
      gguf_functional_checks(*engine, prompt, *reference, report.precision, options, checks);
      if (task) gguf_task_check(*engine, *reference, *task, options, checks);
    }
  }
  stages.done();
  if (loaded && engine) loaded->emplace(LoadedGguf{std::move(read->file), std::move(*engine)});
  report.seconds = clock.seconds();
  return report;
}

ValidationReport validate_onnx(const std::filesystem::path& path, Reference* reference,
                               const ValidateOptions& options) {
  const Stopwatch clock;
  const std::optional<Task> task = validation_task(options);  // bad input stops here
  const artifact::Info info = artifact::classify(path);
  ValidationReport report;
  report.artifact = path.string();
  report.ran_on = current_platform();
  report.format = "onnx";
  Checks checks(report.checks, "format");
  const std::vector<std::string> ps = artifact::precisions(info);
  for (const std::string& p : ps) report.precision += (report.precision.empty() ? "" : "+") + p;
  Stages stages(options, 1 + (options.functional ? static_cast<int64_t>(ps.size()) : 0));
  stages.next("format checks");
  const bool runnable = onnx_format_checks(info, checks);
  if (options.functional && runnable) {
    checks.set_category("functional");
    for (const std::string& p : ps) {
      stages.next("functional checks " + p);
      // One precision: plain check names; several: each named for its precision.
      const std::string suffix = ps.size() > 1 ? "[" + p + "]" : "";
      onnx_functional_checks(info, p, suffix, reference, options, checks);
      if (task) onnx_task_check(info, p, suffix, reference, *task, options, checks);
    }
  }
  stages.done();
  report.seconds = clock.seconds();
  return report;
}

}  // namespace slmkit::validation

namespace slmkit {

ValidationReport validate_artifact(const std::filesystem::path& path,
                                   const ValidateOptions& options) {
  if (artifact::classify(path).kind == artifact::Kind::gguf) {
    return validation::validate_gguf(path, nullptr, options);
  }
  return validation::validate_onnx(path, nullptr, options);
}

}  // namespace slmkit
