// validate_artifact: format checks first; functional checks only on bytes that parse.
#include <chrono>

#include <fmt/format.h>

#include "formats/gguf.h"
#include "slmkit/error.h"
#include "validate/checks.h"

namespace slmkit {

ValidationReport validate_artifact(const std::filesystem::path& path,
                                   const ValidateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const artifact::Info info = artifact::classify(path);
  // Stages: the format checks, then one functional stage per precision (a GGUF has one).
  int64_t stage = 0, n_stages = 1;
  auto next_stage = [&](const std::string& what) {
    options.cancel.throw_if_cancelled();
    if (options.on_progress) options.on_progress(stage, n_stages, what);
    ++stage;
  };
  ValidationReport report;
  report.artifact = path.string();
  validation::Checks checks(report.checks, "format");
  if (info.kind == artifact::Kind::gguf) {
    report.format = "gguf";
    try {
      report.precision = artifact::gguf_quantization(gguf::read_file(path));
    } catch (const Error&) {
      report.precision = "unknown";  // the format checks say why
    }
    if (options.functional) n_stages = 2;
    next_stage("format checks");
    const bool runnable = validation::gguf_format_checks(path, checks);
    if (options.functional && runnable) {
      next_stage("functional checks");
      checks.set_category("functional");
      validation::gguf_functional_checks(path, report.precision, options, checks);
    }
  } else {
    report.format = "onnx";
    const std::vector<std::string> ps = artifact::precisions(info);
    for (const std::string& p : ps) report.precision += (report.precision.empty() ? "" : "+") + p;
    if (options.functional) n_stages += static_cast<int64_t>(ps.size());
    next_stage("format checks");
    const bool runnable = validation::onnx_format_checks(info, checks);
    if (options.functional && runnable) {
      checks.set_category("functional");
      for (const std::string& p : ps) {
        next_stage("functional checks " + p);
        // One precision: plain check names; several: each named for its precision.
        validation::onnx_functional_checks(info, p, ps.size() > 1 ? "[" + p + "]" : "", options,
                                           checks);
      }
    }
  }
  options.cancel.throw_if_cancelled();
  if (options.on_progress) options.on_progress(n_stages, n_stages, "validated");
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace slmkit
