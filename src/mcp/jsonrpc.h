// JSON-RPC 2.0 as MCP's stdio transport carries it: one message per line (UTF-8, no embedded
// newlines), requests with a string or integer id (never null), notifications without one.
// Batches (JSON arrays) were part of MCP only in protocol version 2025-03-26; this server does
// not negotiate that version and answers an array with invalid_request.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace slmkit::mcp {

using json = nlohmann::ordered_json;

namespace rpc {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
}  // namespace rpc

struct Message {
  enum class Kind { request, notification, response };
  Kind kind = Kind::request;
  json id;  // request and response: a string or an integer
  std::string method;
  json params = json::object();  // absent params read as {}
};

// One line read: either a message or the error response to send for it (without an id where
// the line's id could not be read). A malformed notification gets no reply at all (JSON-RPC never
// answers a notification), so both may be empty.
struct ParsedLine {
  std::optional<Message> message;
  std::optional<json> reply;
};
ParsedLine parse_line(std::string_view line);

// A string or an integer (MCP ids are never null, never fractional).
bool is_valid_id(const json& id);

json make_result(const json& id, json result);
json make_error(const json& id, int code, const std::string& message);
json make_notification(const std::string& method, json params);

// One line of JSON without the newline; bytes that are not UTF-8 in strings become U+FFFD
// instead of failing the whole message.
std::string serialize(const json& message);

// Reads newline-terminated lines of at most max_bytes; a longer line is skipped up to its newline
// and reported as too long, so a client cannot make the server hold an unbounded buffer.
class LineReader {
 public:
  explicit LineReader(std::istream& in, size_t max_bytes) : in_(in), max_bytes_(max_bytes) {}
  enum class Status { line, too_long, end };
  Status next(std::string& line);

 private:
  std::istream& in_;
  size_t max_bytes_;
};

}  // namespace slmkit::mcp
