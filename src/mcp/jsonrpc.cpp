#include "mcp/jsonrpc.h"

#include <cmath>

namespace slmkit::mcp {

bool is_valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

json make_result(const json& id, json result) {
  json m;
  m["jsonrpc"] = "2.0";
  m["id"] = id;
  m["result"] = std::move(result);
  return m;
}

json make_error(const json& id, int code, const std::string& message) {
  json m;
  m["jsonrpc"] = "2.0";
  // JSON-RPC writes "id": null where the request's id could not be read; MCP's schema (and the
  // TypeScript SDK, which drops the connection on such a line) leaves the member out instead.
  if (is_valid_id(id)) m["id"] = id;
  m["error"] = {{"code", code}, {"message", message}};
  return m;
}

json make_notification(const std::string& method, json params) {
  json m;
  m["jsonrpc"] = "2.0";
  m["method"] = method;
  m["params"] = std::move(params);
  return m;
}

std::string serialize(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

ParsedLine parse_line(std::string_view line) {
  ParsedLine out;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  if (line.find_first_not_of(" \t") == std::string_view::npos) return out;  // blank: ignored
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    out.reply = make_error(nullptr, rpc::kParseError, std::string("Parse error: ") + e.what());
    return out;
  }
  if (j.is_array()) {
    out.reply = make_error(nullptr, rpc::kInvalidRequest,
                           "Invalid Request: JSON-RPC batches (arrays) are not part of MCP since "
                           "protocol version 2025-06-18; send one message per line");
    return out;
  }
  if (!j.is_object()) {
    out.reply = make_error(nullptr, rpc::kInvalidRequest,
                           "Invalid Request: a message must be a JSON object");
    return out;
  }
  const bool has_id = j.contains("id");
  const json id = has_id ? j["id"] : json(nullptr);
  if (!j.contains("method")) {
    if (has_id && (j.contains("result") || j.contains("error"))) {
      Message m;
      m.kind = Message::Kind::response;
      m.id = id;
      out.message = std::move(m);
      return out;
    }
    out.reply = make_error(id, rpc::kInvalidRequest,
                           "Invalid Request: neither a request (method) nor a response (result "
                           "or error)");
    return out;
  }
  // From here on it claims to be a request (id present) or a notification (no id).
  if (has_id && !is_valid_id(id)) {
    out.reply = make_error(nullptr, rpc::kInvalidRequest,
                           "Invalid Request: id must be a string or an integer (MCP ids are "
                           "never null)");
    return out;
  }
  const auto version = j.find("jsonrpc");
  if (version == j.end() || !version->is_string() || version->get<std::string>() != "2.0") {
    if (has_id) {
      out.reply =
          make_error(id, rpc::kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
    }
    return out;
  }
  if (!j["method"].is_string()) {
    if (has_id) {
      out.reply = make_error(id, rpc::kInvalidRequest, "Invalid Request: method must be a string");
    }
    return out;
  }
  Message m;
  m.kind = has_id ? Message::Kind::request : Message::Kind::notification;
  m.id = id;
  m.method = j["method"].get<std::string>();
  if (j.contains("params")) {
    if (!j["params"].is_object()) {
      if (has_id) {
        out.reply = make_error(id, rpc::kInvalidParams,
                               "Invalid params: params of " + m.method + " must be an object");
      }
      return out;
    }
    m.params = j["params"];
  }
  out.message = std::move(m);
  return out;
}

LineReader::Status LineReader::next(std::string& line) {
  line.clear();
  bool too_long = false;
  int c = 0;
  std::streambuf* buf = in_.rdbuf();
  while ((c = buf->sbumpc()) != std::char_traits<char>::eof()) {
    if (c == '\n') return too_long ? Status::too_long : Status::line;
    if (too_long) continue;
    if (line.size() == max_bytes_) {
      too_long = true;
      line.clear();
      line.shrink_to_fit();
      continue;
    }
    line.push_back(static_cast<char>(c));
  }
  // The last line may lack its newline.
  if (too_long) return Status::too_long;
  return line.empty() ? Status::end : Status::line;
}

}  // namespace slmkit::mcp
