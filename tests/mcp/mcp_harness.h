// An McpServer driven in-process: lines in, every line it sends kept (parsed), with helpers for
// the lifecycle and tool calls. A hook sees each outgoing message on the thread that sends it.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/mcp.h"

namespace slmkit::testing {

using ojson = nlohmann::ordered_json;

class McpHarness {
 public:
  explicit McpHarness(std::vector<std::filesystem::path> roots, int n_threads = 0)
      : server_(options(std::move(roots), n_threads),
                [this](const std::string& line) { receive(line); }) {}

  // Called with each outgoing message, on the sending thread, before it is stored.
  std::function<void(const ojson&)> on_send;

  void send_raw(const std::string& line) { server_.handle_line(line); }
  void send(const ojson& message) { server_.handle_line(message.dump()); }

  // initialize + notifications/initialized; returns the initialize result.
  ojson initialize(const std::string& version = "2025-11-25") {
    send({{"jsonrpc", "2.0"},
          {"id", 0},
          {"method", "initialize"},
          {"params",
           {{"protocolVersion", version},
            {"capabilities", ojson::object()},
            {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}});
    send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return response(0).at("result");
  }

  // Queues a tools/call; with a progress token when `progress` is set.
  void call(int id, const std::string& tool, const ojson& arguments, bool progress = false) {
    ojson params = {{"name", tool}, {"arguments", arguments}};
    if (progress) {
      std::string token = "p";
      token += std::to_string(id);
      params["_meta"] = {{"progressToken", token}};
    }
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", params}});
  }
  // Calls a tool and waits for it; returns its result object.
  ojson call_and_wait(int id, const std::string& tool, const ojson& arguments) {
    call(id, tool, arguments);
    server_.wait_idle();
    return response(id).at("result");
  }

  void wait_idle() { server_.wait_idle(); }
  McpServer& server() { return server_; }

  std::vector<ojson> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }
  // The response (result or error) with this id; a null json when there is none.
  ojson response(const ojson& id) {
    for (const ojson& m : messages()) {
      if (m.contains("id") && m["id"] == id && !m.contains("method")) return m;
    }
    return nullptr;
  }
  std::vector<ojson> progress(const std::string& token) {
    std::vector<ojson> out;
    for (const ojson& m : messages()) {
      if (m.value("method", "") == "notifications/progress" &&
          m["params"]["progressToken"] == token) {
        out.push_back(m["params"]);
      }
    }
    return out;
  }

 private:
  static McpServerOptions options(std::vector<std::filesystem::path> roots, int n_threads) {
    McpServerOptions o;
    o.roots = std::move(roots);
    o.n_threads = n_threads;
    return o;
  }
  void receive(const std::string& line) {
    const ojson m = ojson::parse(line);  // every line must be one JSON message
    if (on_send) on_send(m);
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.push_back(m);
  }

  std::mutex mutex_;
  std::vector<ojson> messages_;
  McpServer server_;  // last: destroyed first, while the rest is alive
};

}  // namespace slmkit::testing
