// serve_mcp_stdio: the process plumbing around McpServer for the stdio transport.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "core/fail.h"
#include "mcp/jsonrpc.h"
#include "slmkit/mcp.h"

namespace slmkit {

namespace {

// Longest message taken; a longer line is refused and skipped, never buffered whole.
constexpr size_t kMaxMessageBytes = 64u << 20;

// Set by the handler (only lock-free atomics are safe there), read by the watcher thread.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_signal(int sig) {
  g_signal.store(sig);
}

class ProtocolOut {
 public:
  ProtocolOut() {
    // The protocol keeps the original stdout (not inherited by child processes); fd 1 becomes
    // stderr, so any other output lands in the log instead of the stream.
    fd_ = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd_ < 0) fail_io("mcp: cannot duplicate stdout: {}", std::strerror(errno));
    std::fflush(stdout);
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
      fail_io("mcp: cannot point stdout at stderr: {}", std::strerror(errno));
    }
  }
  ~ProtocolOut() { close(fd_); }

  // False once the client has closed its end.
  bool write_line(const std::string& line) {
    std::string data = line + "\n";
    size_t at = 0;
    while (at < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + at, data.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      at += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_ = -1;
};

void log_line(const std::string& line) {
  std::fprintf(stderr, "slmkit mcp: %s\n", line.c_str());
}

}  // namespace

void serve_mcp_stdio(const McpServerOptions& given) {
  McpServerOptions options = given;
  if (!options.log) options.log = log_line;
  // A client that goes away makes write() fail with EPIPE instead of killing the process.
  signal(SIGPIPE, SIG_IGN);
  ProtocolOut out;
  std::atomic<bool> client_gone{false};
  McpServer server(options, [&](const std::string& line) {
    if (!client_gone.load() && !out.write_line(line)) {
      client_gone.store(true);
      options.log("the client closed stdout; stopping");
    }
  });

  // SIGTERM / SIGINT (how a client stops a server that does not exit): cancel the call so that
  // it unwinds and removes its temporaries, then exit. A client that stopped reading gets the
  // same, without the exit: nobody can read the results.
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    bool gone_seen = false;
    while (!done.load()) {
      if (const int sig = g_signal.load(); sig != 0) {
        options.log("signal " + std::to_string(sig) + ": cancelling");
        server.cancel_all();
        // A call blocked writing to a client that no longer reads cannot unwind: do not wait
        // for it forever.
        if (!server.wait_idle_for(10.0)) options.log("the call did not stop within 10 s");
        std::_Exit(128 + sig);
      }
      if (client_gone.load() && !gone_seen) {
        gone_seen = true;
        server.cancel_all();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::ios::sync_with_stdio(false);  // std::cin with its own buffer, not a getc per character
  mcp::LineReader reader(std::cin, kMaxMessageBytes);
  std::string line;
  for (;;) {
    const mcp::LineReader::Status status = reader.next(line);
    if (status == mcp::LineReader::Status::end || client_gone.load()) break;
    if (status == mcp::LineReader::Status::too_long) {
      server.handle_oversized_line(kMaxMessageBytes);
    } else {
      server.handle_line(line);
    }
  }
  // The calls already received still run and answer (`printf ... | slmkit mcp` works); a client
  // that wants them stopped sends notifications/cancelled or SIGTERM.
  options.log("end of input; finishing the calls received");
  server.wait_idle();
  done.store(true);
  watcher.join();
}

}  // namespace slmkit
