// The MCP server: lifecycle (initialize, ping), tools/list, tools/call through a queue served by
// one worker thread, progress and cancellation. Tool failures are results with isError (the
// model can read them and retry); JSON-RPC errors are for messages the server cannot take.
#include "slmkit/mcp.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "mcp/json_schema.h"
#include "mcp/jsonrpc.h"
#include "mcp/path_policy.h"
#include "mcp/tool.h"
#include "slmkit/error.h"
#include "slmkit/progress.h"
#include "slmkit/version.h"

namespace slmkit {

std::vector<std::string> mcp_protocol_versions() {
  return {"2025-11-25", "2025-06-18", "2024-11-05"};
}

using mcp::json;
using mcp::Message;
namespace rpc = mcp::rpc;

namespace {

struct Call {
  json id;
  const mcp::Tool* tool = nullptr;
  json arguments;
  json progress_token;  // null: the client asked for no progress
  CancelToken cancel;
};

json text_content(const std::string& text) {
  return {{"type", "text"}, {"text", text}};
}

json tool_error(const std::string& message) {
  return {{"content", json::array({text_content(message)})}, {"isError", true}};
}

// The summary for people and models, the same data as JSON text for clients that predate
// structuredContent (the specification asks for both), and the structured result.
json tool_success(const mcp::ToolResult& r) {
  return {{"content",
           json::array({text_content(r.summary), text_content(mcp::serialize(r.structured))})},
          {"structuredContent", r.structured},
          {"isError", false}};
}

std::string id_text(const json& id) {
  return mcp::serialize(id);
}

const char* kInstructions =
    "slmkit's export tools: quantize a model to GGUF (export_gguf), export ONNX (export_onnx), "
    "check an artifact (validate_format), run it on prompts (test_inference), write deployment "
    "manifests with checksums (create_manifest), describe a model (inspect_model) or do all of "
    "it at once (run_pipeline). Every path must lie inside the server's root folders; relative "
    "paths start at the first root.";

}  // namespace

struct McpServer::Impl {
  McpServerOptions options;
  mcp::PathPolicy paths;
  std::function<void(const std::string&)> send_line;
  std::mutex send_mutex;

  // Read and written by the thread that calls handle_line only.
  bool initialized = false;
  std::string protocol_version;

  std::mutex mutex;
  std::condition_variable wake;  // the worker: a call was queued, or stop
  std::condition_variable idle;  // wait_idle: the queue drained
  std::deque<Call> queue;
  std::optional<json> running_id;
  CancelToken running_cancel;
  bool stop = false;
  std::thread worker;

  Impl(const McpServerOptions& o, std::function<void(const std::string&)> send)
      : options(o), paths(o.roots), send_line(std::move(send)) {
    worker = std::thread([this] { work(); });
  }

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  void send(const json& message) {
    const std::string line = mcp::serialize(message);
    std::lock_guard<std::mutex> lock(send_mutex);
    send_line(line);
  }

  void reply_error(const json& id, int code, const std::string& message) {
    log(fmt::format("error {} to id {}: {}", code, id_text(id), message));
    send(mcp::make_error(id, code, message));
  }

  void handle(std::string_view line) {
    mcp::ParsedLine parsed = mcp::parse_line(line);
    if (parsed.reply) {
      log(fmt::format("refused a message: {}",
                      (*parsed.reply)["error"]["message"].get<std::string>()));
      send(*parsed.reply);
    }
    if (!parsed.message) return;
    Message& m = *parsed.message;
    switch (m.kind) {
      case Message::Kind::response:
        log(fmt::format("ignored a response (id {}): this server sends no requests",
                        id_text(m.id)));
        return;
      case Message::Kind::notification:
        notification(m);
        return;
      case Message::Kind::request:
        request(m);
        return;
    }
  }

  void notification(const Message& m) {
    if (m.method == "notifications/initialized") {
      log("client initialized");
    } else if (m.method == "notifications/cancelled") {
      const auto it = m.params.find("requestId");
      if (it == m.params.end() || !mcp::is_valid_id(*it)) return;  // nothing to answer
      const std::string reason = m.params.contains("reason") && m.params["reason"].is_string()
                                     ? m.params["reason"].get<std::string>()
                                     : std::string();
      cancel(*it, reason);
    }
    // Other notifications (progress of our nothing, roots/list_changed, ...) need no action.
  }

  void cancel(const json& id, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex);
    if (running_id && *running_id == id) {
      running_cancel.cancel();
      log(fmt::format("cancel id {} (running){}", id_text(id),
                      reason.empty() ? "" : ": " + reason));
      return;
    }
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if (it->id == id) {
        log(fmt::format("cancel id {} (queued, dropped){}", id_text(id),
                        reason.empty() ? "" : ": " + reason));
        queue.erase(it);
        idle.notify_all();
        return;
      }
    }
    // Unknown or already answered: the specification says to ignore it.
  }

  void request(const Message& m) {
    if (m.method == "ping") {
      send(mcp::make_result(m.id, json::object()));
      return;
    }
    if (m.method == "initialize") {
      initialize(m);
      return;
    }
    if (!initialized) {
      reply_error(m.id, rpc::kInvalidRequest,
                  "Invalid Request: " + m.method + " before initialize; send initialize first");
      return;
    }
    if (m.method == "tools/list") {
      if (m.params.contains("cursor")) {
        // Every tool fits in one page, so no cursor was ever handed out.
        reply_error(m.id, rpc::kInvalidParams, "Invalid params: unknown cursor");
        return;
      }
      json tools = json::array();
      for (const mcp::Tool& t : mcp::all_tools()) tools.push_back(t.listing());
      send(mcp::make_result(m.id, {{"tools", tools}}));
      return;
    }
    if (m.method == "tools/call") {
      call(m);
      return;
    }
    reply_error(m.id, rpc::kMethodNotFound, "Method not found: " + m.method);
  }

  void initialize(const Message& m) {
    if (initialized) {
      reply_error(m.id, rpc::kInvalidRequest, "Invalid Request: initialize was already received");
      return;
    }
    const auto v = m.params.find("protocolVersion");
    if (v == m.params.end() || !v->is_string()) {
      reply_error(m.id, rpc::kInvalidParams,
                  "Invalid params: initialize needs params.protocolVersion (a string)");
      return;
    }
    const std::vector<std::string> versions = mcp_protocol_versions();
    const std::string asked = v->get<std::string>();
    protocol_version =
        std::find(versions.begin(), versions.end(), asked) != versions.end() ? asked : versions[0];
    initialized = true;
    std::string client = "?";
    if (auto info = m.params.find("clientInfo"); info != m.params.end() && info->is_object() &&
                                                 info->contains("name") &&
                                                 (*info)["name"].is_string()) {
      client = (*info)["name"].get<std::string>();
    }
    log(fmt::format("initialize from {}: asked {}, speaking {}", client, asked, protocol_version));
    json result;
    result["protocolVersion"] = protocol_version;
    result["capabilities"] = {{"tools", {{"listChanged", false}}}};
    result["serverInfo"] = {
        {"name", "slmkit"}, {"title", "slmkit export tools"}, {"version", version()}};
    result["instructions"] = kInstructions;
    send(mcp::make_result(m.id, result));
  }

  void call(const Message& m) {
    const auto name = m.params.find("name");
    if (name == m.params.end() || !name->is_string()) {
      reply_error(m.id, rpc::kInvalidParams, "Invalid params: tools/call needs params.name");
      return;
    }
    const mcp::Tool* tool = mcp::find_tool(name->get<std::string>());
    if (!tool) {
      std::string known;
      for (const mcp::Tool& t : mcp::all_tools()) known += (known.empty() ? "" : ", ") + t.name;
      reply_error(m.id, rpc::kInvalidParams,
                  fmt::format("Unknown tool: {} (tools: {})", mcp::serialize(*name), known));
      return;
    }
    Call c;
    c.id = m.id;
    c.tool = tool;
    c.arguments = m.params.contains("arguments") ? m.params["arguments"] : json::object();
    if (!c.arguments.is_object()) {
      reply_error(m.id, rpc::kInvalidParams, "Invalid params: arguments must be an object");
      return;
    }
    if (auto meta = m.params.find("_meta"); meta != m.params.end()) {
      if (!meta->is_object()) {
        reply_error(m.id, rpc::kInvalidParams, "Invalid params: _meta must be an object");
        return;
      }
      if (auto token = meta->find("progressToken"); token != meta->end()) {
        if (!mcp::is_valid_id(*token)) {
          reply_error(m.id, rpc::kInvalidParams,
                      "Invalid params: _meta.progressToken must be a string or an integer");
          return;
        }
        c.progress_token = *token;
      }
    }
    // The schema first, before any work, answered at once (even while another call runs): the
    // model reads the reasons and can retry.
    const std::vector<std::string> errors = mcp::schema_errors(tool->input_schema, c.arguments);
    if (!errors.empty()) {
      std::string text = tool->name + ": invalid arguments:";
      for (const std::string& e : errors) text += "\n" + e;
      log(fmt::format("tools/call {} (id {}) refused: {}", tool->name, id_text(m.id), errors[0]));
      send(mcp::make_result(m.id, tool_error(text)));
      return;
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (!queue.empty() || running_id) {
      log(fmt::format("tools/call {} (id {}) queued behind {} call(s)", tool->name, id_text(m.id),
                      queue.size() + (running_id ? 1 : 0)));
    }
    queue.push_back(std::move(c));
    wake.notify_one();
  }

  void work() {
    for (;;) {
      Call c;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [this] { return stop || !queue.empty(); });
        if (stop) return;
        c = std::move(queue.front());
        queue.pop_front();
        running_id = c.id;
        running_cancel = c.cancel;
      }
      run(c);
      {
        std::lock_guard<std::mutex> lock(mutex);
        running_id.reset();
        idle.notify_all();
      }
    }
  }

  void run(Call& c) {
    const auto start = std::chrono::steady_clock::now();
    log(fmt::format("tools/call {} (id {}) started", c.tool->name, id_text(c.id)));
    mcp::CallProgress progress([&](double percent, const std::string& message) {
      if (c.progress_token.is_null()) return;
      send(mcp::make_notification("notifications/progress", {{"progressToken", c.progress_token},
                                                             {"progress", percent},
                                                             {"total", 100},
                                                             {"message", message}}));
    });
    mcp::ToolContext context{paths, options.n_threads, c.cancel, progress};
    std::optional<json> result;
    try {
      mcp::ToolResult r = c.tool->run(c.arguments, context);
      progress.report(1.0, "done");
      result = tool_success(r);
    } catch (const Cancelled&) {
      // The specification: no response to a cancelled request.
    } catch (const Error& e) {
      result = tool_error(c.tool->name + ": " + e.what());
    } catch (const std::exception& e) {
      result = tool_error(c.tool->name + ": internal error: " + e.what());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (c.cancel.cancelled() || !result) {
      log(fmt::format("tools/call {} (id {}) cancelled after {:.2f} s; no reply", c.tool->name,
                      id_text(c.id), seconds));
      return;
    }
    const bool failed = (*result)["isError"].get<bool>();
    log(fmt::format("tools/call {} (id {}) {} in {:.2f} s", c.tool->name, id_text(c.id),
                    failed ? "failed" : "done", seconds));
    send(mcp::make_result(c.id, std::move(*result)));
  }

  void cancel_all() {
    std::lock_guard<std::mutex> lock(mutex);
    if (running_id) running_cancel.cancel();
    if (!queue.empty()) log(fmt::format("dropped {} queued call(s)", queue.size()));
    queue.clear();
    idle.notify_all();
  }

  void wait_idle() {
    std::unique_lock<std::mutex> lock(mutex);
    idle.wait(lock, [this] { return queue.empty() && !running_id; });
  }

  bool wait_idle_for(double seconds) {
    std::unique_lock<std::mutex> lock(mutex);
    return idle.wait_for(lock, std::chrono::duration<double>(seconds),
                         [this] { return queue.empty() && !running_id; });
  }

  ~Impl() {
    cancel_all();
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    wake.notify_all();
    worker.join();
  }
};

McpServer::McpServer(const McpServerOptions& options, std::function<void(const std::string&)> send)
    : impl_(std::make_unique<Impl>(options, std::move(send))) {}

McpServer::~McpServer() = default;

void McpServer::handle_line(std::string_view line) {
  impl_->handle(line);
}

void McpServer::handle_oversized_line(size_t limit) {
  impl_->reply_error(nullptr, rpc::kParseError,
                     fmt::format("Parse error: message longer than {} bytes", limit));
}

void McpServer::wait_idle() {
  impl_->wait_idle();
}

bool McpServer::wait_idle_for(double seconds) {
  return impl_->wait_idle_for(seconds);
}

void McpServer::cancel_all() {
  impl_->cancel_all();
}

}  // namespace slmkit
