// validate_through: `slmkit validate` of another build (another architecture, under qemu-user),
// started as a shell command, its JSON report read back.
#include <sys/wait.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "core/fail.h"
#include "pipeline/measure.h"

namespace slmkit::pipeline {
namespace {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

ValidationReport validate_through(const std::string& runner, const fs::path& path,
                                  const fs::path& reference, int n_threads,
                                  const std::string& report_name, const fs::path& out) {
  // The other build writes its own report file; ours (below) is the one the pipeline keeps.
  const fs::path scratch = out / "validation_reports" / ".through";
  fs::create_directories(scratch);
  std::string command = fmt::format(
      "{} validate {} --reference {} --json --min-tokens-per-second 0 --out {}", runner,
      shell_quote(fs::absolute(path).string()), shell_quote(fs::absolute(reference).string()),
      shell_quote(fs::absolute(scratch).string()));
  if (n_threads > 0) command += fmt::format(" -t {}", n_threads);
  command += " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) fail_io("cannot start '{}'", command);
  std::string printed;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) printed.append(buf, n);
  const int status = ::pclose(pipe.release());
  fs::remove_all(scratch);
  // `slmkit validate --json` prints the report (and exits 1 when a check failed, 2 on Error).
  const size_t start = printed.starts_with("{\n") ? 0 : printed.find("\n{\n");
  nlohmann::ordered_json j =
      start == std::string::npos
          ? nlohmann::ordered_json()
          : nlohmann::ordered_json::parse(printed.substr(start), nullptr, false);
  if (!j.is_object()) {
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    fail_unsupported("'{}' printed no validation report (exit {}): {}", command, code,
                     printed.substr(0, 400));
  }
  ValidationReport report = ValidationReport::from_json(j);
  report.artifact = fs::path(report_name).stem().string() + "-" + report.ran_on.arch +
                    fs::path(report_name).extension().string();
  write_validation_report(report, out / "validation_reports");
  return report;
}

}  // namespace slmkit::pipeline
