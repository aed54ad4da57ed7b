// Lines of JSON-RPC into the MCP server: the line parser, the dispatcher, the schema checks and
// the tools' path policy. The root is an empty temporary folder, so no tool finds a model to
// work on. Every line the server sends must be one JSON object (no crash, no broken output).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slmkit/mcp.h"

namespace {

const std::filesystem::path& empty_root() {
  static const std::filesystem::path root = [] {
    const auto p =
        std::filesystem::temp_directory_path() / ("slmkit-fuzz-mcp-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    return p;
  }();
  return root;
}

void check_line(const std::string& line) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (line.find('\n') != std::string::npos || !j.is_object() || !j.contains("jsonrpc")) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slmkit::McpServerOptions options;
  options.roots = {empty_root()};
  options.n_threads = 1;
  slmkit::McpServer server(options, check_line);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // An odd first byte starts the session initialized, so most inputs reach tools/list and
  // tools/call instead of stopping at "send initialize first".
  if (!input.empty() && (input[0] & 1)) {
    server.handle_line(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})");
    input.remove_prefix(1);
  }
  while (!input.empty()) {
    const size_t end = input.find('\n');
    server.handle_line(input.substr(0, end));
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
  }
  server.wait_idle();
  // Nothing may have been created in the root (an empty root leaves no tool anything to do).
  if (!std::filesystem::is_empty(empty_root())) abort();
  return 0;
}
