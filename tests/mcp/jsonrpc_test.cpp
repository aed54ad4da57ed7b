// The JSON-RPC layer: what each kind of line becomes, and the line reader's limit.
#include "mcp/jsonrpc.h"

#include <sstream>

#include <gtest/gtest.h>

namespace slmkit::mcp {
namespace {

TEST(JsonRpc, RequestNotificationResponse) {
  ParsedLine r = parse_line(R"({"jsonrpc":"2.0","id":7,"method":"ping"})");
  ASSERT_TRUE(r.message);
  EXPECT_FALSE(r.reply);
  EXPECT_EQ(r.message->kind, Message::Kind::request);
  EXPECT_EQ(r.message->id, 7);
  EXPECT_EQ(r.message->method, "ping");
  EXPECT_TRUE(r.message->params.is_object());

  r = parse_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
                 "\r");
  ASSERT_TRUE(r.message);
  EXPECT_EQ(r.message->kind, Message::Kind::notification);

  r = parse_line(R"({"jsonrpc":"2.0","id":"a","result":{}})");
  ASSERT_TRUE(r.message);
  EXPECT_EQ(r.message->kind, Message::Kind::response);
  EXPECT_EQ(r.message->id, "a");

  EXPECT_FALSE(parse_line("   ").message);
  EXPECT_FALSE(parse_line("   ").reply);
}

int code_of(const ParsedLine& r) {
  EXPECT_TRUE(r.reply.has_value());
  return r.reply ? (*r.reply)["error"]["code"].get<int>() : 0;
}

TEST(JsonRpc, MalformedLinesGetTheRightErrors) {
  EXPECT_EQ(code_of(parse_line("{not json")), rpc::kParseError);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"2.0","id":1,"method":"ping"} trailing)")),
            rpc::kParseError);
  // Invalid UTF-8 inside a string is not JSON.
  EXPECT_EQ(code_of(parse_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}")),
            rpc::kParseError);
  EXPECT_EQ(code_of(parse_line(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])")),
            rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line("[]")), rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line("42")), rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"2.0","id":1})")), rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"1.0","id":1,"method":"ping"})")),
            rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"id":1,"method":"ping"})")), rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"2.0","id":1,"method":5})")), rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"2.0","id":null,"method":"ping"})")),
            rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})")),
            rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"2.0","id":{},"method":"ping"})")),
            rpc::kInvalidRequest);
  EXPECT_EQ(code_of(parse_line(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})")),
            rpc::kInvalidParams);
}

TEST(JsonRpc, ErrorRepliesEchoTheIdWhenItCanBeRead) {
  ParsedLine r = parse_line(R"({"jsonrpc":"1.0","id":"x","method":"ping"})");
  ASSERT_TRUE(r.reply);
  EXPECT_EQ((*r.reply)["id"], "x");
  r = parse_line("{broken");
  ASSERT_TRUE(r.reply);
  EXPECT_FALSE(r.reply->contains("id"));  // MCP: left out, not null
  EXPECT_EQ((*r.reply)["jsonrpc"], "2.0");
}

TEST(JsonRpc, MalformedNotificationsAreNeverAnswered) {
  const ParsedLine r = parse_line(R"({"jsonrpc":"1.0","method":"notifications/cancelled"})");
  EXPECT_FALSE(r.reply);
  EXPECT_FALSE(r.message);
  EXPECT_FALSE(parse_line(R"({"jsonrpc":"2.0","method":"x","params":3})").reply);
}

TEST(JsonRpc, SerializeIsOneLineAndSurvivesBadUtf8) {
  json m = make_result(3, {{"text", "a\nb"}, {"bytes", std::string("\xff\xfe", 2)}});
  const std::string s = serialize(m);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  const json back = json::parse(s);
  EXPECT_EQ(back["result"]["text"], "a\nb");
  EXPECT_EQ(back["result"]["bytes"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // two U+FFFD
}

TEST(JsonRpc, LineReaderSkipsOverlongLinesWhole) {
  std::istringstream in("short\n" + std::string(100, 'x') + "\nafter\nlast");
  LineReader reader(in, 10);
  std::string line;
  EXPECT_EQ(reader.next(line), LineReader::Status::line);
  EXPECT_EQ(line, "short");
  EXPECT_EQ(reader.next(line), LineReader::Status::too_long);
  EXPECT_EQ(reader.next(line), LineReader::Status::line);
  EXPECT_EQ(line, "after");
  EXPECT_EQ(reader.next(line), LineReader::Status::line);
  EXPECT_EQ(line, "last");  // no newline at the end
  EXPECT_EQ(reader.next(line), LineReader::Status::end);
}

TEST(JsonRpc, LineReaderKeepsALineOfExactlyTheLimit) {
  std::istringstream in(std::string(10, 'y') + "\n");
  LineReader reader(in, 10);
  std::string line;
  EXPECT_EQ(reader.next(line), LineReader::Status::line);
  EXPECT_EQ(line.size(), 10u);
  EXPECT_EQ(reader.next(line), LineReader::Status::end);
}

}  // namespace
}  // namespace slmkit::mcp
