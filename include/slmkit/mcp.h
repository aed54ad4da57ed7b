// `slmkit mcp`: the export agent's tools (export_gguf, export_onnx, validate_format,
// test_inference, create_manifest, plus inspect_model and run_pipeline) served over the Model
// Context Protocol: JSON-RPC 2.0, one message per line, on stdin / stdout (see docs/agents.md).
//
// One tool call runs at a time, on a worker thread, so that the server keeps reading while it
// runs (ping, notifications/cancelled); further calls wait in a first-in first-out queue. Every
// path a tool is given must resolve, after symlinks and "..", inside one of the roots.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace slmkit {

struct McpServerOptions {
  std::vector<std::filesystem::path> roots;          // empty: the current directory
  int n_threads = 0;                                 // for every tool; 0: every core
  std::function<void(const std::string& line)> log;  // diagnostics; null: none
};

// Protocol versions the server speaks, newest first. initialize answers with the client's version
// when it is one of these, else with the first. 2025-03-26 is left out on purpose: it is the one
// version whose clients may send JSON-RPC batches, which this server does not take.
std::vector<std::string> mcp_protocol_versions();

class McpServer {
 public:
  // `send` gets each outgoing message as one line of JSON (no newline); it is called from the
  // thread that calls handle_line and from the worker, never from both at once. Throws Error for
  // a root that is not an existing folder.
  McpServer(const McpServerOptions& options, std::function<void(const std::string&)> send);
  ~McpServer();  // cancels the running call, drops the queued ones, joins the worker
  McpServer(const McpServer&) = delete;
  McpServer& operator=(const McpServer&) = delete;

  // One line of input: a request, a notification or a response; blank lines are ignored.
  // Anything malformed is answered with a JSON-RPC error (or, for a notification, dropped).
  void handle_line(std::string_view line);
  // A line the reader dropped for being longer than `limit` bytes: answered as a parse error.
  void handle_oversized_line(size_t limit);
  // Blocks until no call is queued or running.
  void wait_idle();
  // The same for at most `seconds`; false when a call is still queued or running then.
  bool wait_idle_for(double seconds);
  // Cancels the running call and drops the queued ones, none of which is then answered.
  void cancel_all();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Serves stdin / stdout. When stdin closes, the calls already received still run and answer,
// then it returns. SIGTERM / SIGINT (what a client sends when the server does not exit soon
// enough), or a client that closes stdout, cancel the running call and drop the queue; on a
// signal it then waits (at most 10 s) for the call to remove its temporaries and exits with
// 128 + the signal. Messages go to the process's original stdout; file descriptor 1 is pointed at
// stderr meanwhile, so no other output (a library's, a child process's) can corrupt the stream.
void serve_mcp_stdio(const McpServerOptions& options);

}  // namespace slmkit
