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
  ValidationReport report;
  report.artifact = path.string();
  report.ran_on = current_platform();
  validation::Checks checks(report.checks, "format");
  if (info.kind == artifact::Kind::gguf) {
    report.format = "gguf";
    try {
      report.precision = artifact::gguf_quantization(gguf::read_file(path));
    } catch (const Error&) {
      report.precision = "unknown";  // the format checks say why
    }
    const bool runnable = validation::gguf_format_checks(path, checks);
    if (options.functional && runnable) {
      checks.set_category("functional");
      validation::gguf_functional_checks(path, report.precision, options, checks);
    }
  } else {
    report.format = "onnx";
    const std::vector<std::string> ps = artifact::precisions(info);
    for (const std::string& p : ps) report.precision += (report.precision.empty() ? "" : "+") + p;
    const bool runnable = validation::onnx_format_checks(info, checks);
    if (options.functional && runnable) {
      checks.set_category("functional");
      for (const std::string& p : ps) {
        // One precision: plain check names; several: each named for its precision.
        validation::onnx_functional_checks(info, p, ps.size() > 1 ? "[" + p + "]" : "", options,
                                           checks);
      }
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace slmkit
