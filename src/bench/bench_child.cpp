// One backend per child process, so that each row's peak RSS is that backend's alone.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/fail.h"
#include "slmkit/bench.h"

namespace slmkit {
namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q.push_back(c);
    }
  }
  q.push_back('\'');
  return q;
}

}  // namespace

std::vector<BenchRow> run_bench_child(const std::vector<std::string>& argv) {
  if (argv.empty()) fail_invalid("run_bench_child: no program given");
  std::string command;
  for (const std::string& a : argv) command += (command.empty() ? "" : " ") + shell_quote(a);
  // The child's stderr goes to a file so that its error can become ours (one line, as every
  // failing command prints); anything else it printed is passed on.
  char err_path[] = "/tmp/slmkit-bench-child-XXXXXX";
  const int err_fd = ::mkstemp(err_path);
  if (err_fd < 0) fail_io("cannot create a temporary file for '{}'", command);
  ::close(err_fd);
  const std::string run = command + " 2>" + shell_quote(err_path);
  FILE* pipe = ::popen(run.c_str(), "r");
  if (!pipe) fail_io("cannot start '{}'", command);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string error;
  {
    std::ifstream in(err_path);
    const std::string prefix = "slmkit: error: ";
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(prefix, 0) == 0) {
        error = line.substr(prefix.size());
      } else {
        std::fprintf(stderr, "%s\n", line.c_str());
      }
    }
  }
  ::unlink(err_path);
  if (code != 0) {
    const ErrorKind kind = code == 3 ? ErrorKind::unsupported : ErrorKind::invalid_input;
    if (!error.empty()) throw Error(kind, error);
    fail(kind, "benchmark child '{}' exited with code {}", command, code);
  }
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_array()) {
    fail_invalid("benchmark child '{}': expected a JSON array of rows on stdout, got '{}'", command,
                 out.substr(0, 200));
  }
  std::vector<BenchRow> rows;
  for (const auto& r : j) rows.push_back(bench_row_from_json(r));
  return rows;
}

}  // namespace slmkit
