// `slmkit mcp` as a process: end of input finishes the calls received; SIGTERM in the middle of
// a call (what an MCP client sends when the server does not exit) cancels it, leaves no
// temporary and exits with 128 + 15; stdout carries nothing but protocol lines.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace slmkit::testing {
namespace {
namespace fs = std::filesystem;

class ServerProcess {
 public:
  explicit ServerProcess(const fs::path& root) {
    // Everything the child needs is ready before fork: it only calls async-signal-safe code.
    const std::string cli = cli_path().string(), dir = root.string();
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]);
      close(in[1]);
      close(out[0]);
      close(out[1]);
      execl(cli.c_str(), "slmkit", "mcp", "--root", dir.c_str(), "--threads", "1",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
  }
  ~ServerProcess() {
    if (to_) std::fclose(to_);
    if (from_) std::fclose(from_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0 && to_ && from_; }
  void send(const std::string& line) {
    std::fputs((line + "\n").c_str(), to_);
    std::fflush(to_);
  }
  void close_input() {
    std::fclose(to_);
    to_ = nullptr;
  }
  // The next line from stdout parsed; a discarded json at end of output. Fails the test on a
  // line that is not one JSON message.
  nlohmann::json next() {
    std::string line;
    for (int c; (c = std::fgetc(from_)) != EOF && c != '\n';) line.push_back(static_cast<char>(c));
    if (line.empty()) return nlohmann::json(nlohmann::json::value_t::discarded);
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not a protocol line on stdout: " << line;
    return j;
  }
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

const char* kInit =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})";

TEST(McpStdio, EndOfInputFinishesTheCallsReceived) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path root = temp_dir("mcp-stdio-eof");
  fs::copy_file(fixture("models/gguf-stories260K/stories260K.gguf"), root / "s.gguf");
  ServerProcess p(root);
  ASSERT_TRUE(p.started());
  p.send(kInit);
  p.send(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"export_gguf","arguments":{"model_path":"s.gguf","output_path":"q.gguf","quant_type":"Q8_0"}}})");
  p.close_input();
  EXPECT_EQ(p.next()["id"], 0);
  const nlohmann::json r = p.next();
  EXPECT_EQ(r["id"], 1);
  EXPECT_EQ(r["result"]["isError"], false);
  EXPECT_TRUE(p.next().is_discarded());  // then stdout closes
  const int status = p.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(fs::exists(root / "q.gguf"));
}

TEST(McpStdio, SigtermCancelsTheRunningCallAndLeavesNoTemporary) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path root = temp_dir("mcp-stdio-term");
  fs::copy_file(fixture("models/gguf-stories260K/stories260K.gguf"), root / "s.gguf");
  ServerProcess p(root);
  ASSERT_TRUE(p.started());
  p.send(kInit);
  EXPECT_EQ(p.next()["id"], 0);
  // Twenty graphs; the signal arrives when the second is being written.
  p.send(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"export_onnx","arguments":{"model_path":"s.gguf","output_path":"o","precisions":["fp32","fp16","int8","q4","q4f16"]},"_meta":{"progressToken":1}}})");
  int graphs = 0;
  for (nlohmann::json m = p.next(); !m.is_discarded(); m = p.next()) {
    ASSERT_EQ(m.value("method", ""), "notifications/progress") << m.dump();
    if (m["params"]["message"].get<std::string>().starts_with("graph ") && ++graphs == 2) break;
  }
  ASSERT_EQ(graphs, 2);
  kill(p.pid(), SIGTERM);
  // Keep reading so that the server can always write, until it closes stdout.
  bool answered = false;
  for (nlohmann::json m = p.next(); !m.is_discarded(); m = p.next()) {
    answered |= m.contains("id") && m["id"] == 1;
  }
  const int status = p.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM) << status;
  EXPECT_FALSE(answered) << "a cancelled call gets no reply";
  EXPECT_FALSE(fs::exists(root / "o"));
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace slmkit::testing
