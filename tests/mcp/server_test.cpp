// The server's protocol: lifecycle, version negotiation, dispatch and its errors, tool-level
// refusals. No model is needed: the root is an empty folder.
#include <gtest/gtest.h>

#include "mcp/jsonrpc.h"
#include "mcp_harness.h"
#include "slmkit/version.h"
#include "support/fixtures.h"

namespace slmkit::testing {
namespace {

int error_code(const ojson& response) {
  EXPECT_TRUE(response.contains("error")) << response.dump();
  return response.contains("error") ? response["error"]["code"].get<int>() : 0;
}

std::string tool_text(const ojson& result) {
  std::string s;
  for (const ojson& c : result["content"]) s += c["text"].get<std::string>() + "\n";
  return s;
}

TEST(McpServer, InitializeAnswersTheClientsVersionWhenSupported) {
  for (const std::string v : {"2025-11-25", "2025-06-18", "2024-11-05"}) {
    McpHarness h({temp_dir("mcp-init")});
    const ojson r = h.initialize(v);
    EXPECT_EQ(r["protocolVersion"], v);
    EXPECT_EQ(r["capabilities"], ojson::parse(R"({"tools":{"listChanged":false}})"));
    EXPECT_EQ(r["serverInfo"]["name"], "slmkit");
    EXPECT_EQ(r["serverInfo"]["version"], version());
  }
  // Unknown versions, and 2025-03-26 (the one with batches), get the latest.
  for (const std::string v : {"2025-03-26", "1999-01-01", "2030-01-01"}) {
    McpHarness h({temp_dir("mcp-init")});
    EXPECT_EQ(h.initialize(v)["protocolVersion"], mcp_protocol_versions().front());
  }
}

TEST(McpServer, LifecycleErrors) {
  McpHarness h({temp_dir("mcp-life")});
  h.send_raw(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  EXPECT_EQ(error_code(h.response(1)), mcp::rpc::kInvalidRequest);
  h.send_raw(R"({"jsonrpc":"2.0","id":2,"method":"ping"})");  // ping is always answered
  EXPECT_EQ(h.response(2)["result"], ojson::object());
  h.send_raw(R"({"jsonrpc":"2.0","id":3,"method":"initialize","params":{}})");
  EXPECT_EQ(error_code(h.response(3)), mcp::rpc::kInvalidParams);
  h.initialize();
  h.send_raw(R"({"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"x"}})");
  EXPECT_EQ(error_code(h.response(4)), mcp::rpc::kInvalidRequest);
}

TEST(McpServer, DispatchErrors) {
  McpHarness h({temp_dir("mcp-dispatch")});
  h.initialize();
  h.send_raw(R"({"jsonrpc":"2.0","id":1,"method":"resources/list"})");
  EXPECT_EQ(error_code(h.response(1)), mcp::rpc::kMethodNotFound);
  h.send_raw(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rm_rf"}})");
  EXPECT_EQ(error_code(h.response(2)), mcp::rpc::kInvalidParams);
  EXPECT_NE(h.response(2)["error"]["message"].get<std::string>().find("Unknown tool: \"rm_rf\""),
            std::string::npos);
  h.send_raw(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}})");
  EXPECT_EQ(error_code(h.response(3)), mcp::rpc::kInvalidParams);
  h.send_raw(
      R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"inspect_model","arguments":[1]}})");
  EXPECT_EQ(error_code(h.response(4)), mcp::rpc::kInvalidParams);
  h.send_raw(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"inspect_model","arguments":{},"_meta":{"progressToken":[1]}}})");
  EXPECT_EQ(error_code(h.response(5)), mcp::rpc::kInvalidParams);
  h.send_raw(R"({"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"cursor":"x"}})");
  EXPECT_EQ(error_code(h.response(6)), mcp::rpc::kInvalidParams);

  // Malformed lines: each answered once, without an id where none could be read.
  const size_t before = h.messages().size();
  h.send_raw("{\"jsonrpc\":\"2.0\",\"id\":7,");
  h.send_raw(R"([{"jsonrpc":"2.0","id":8,"method":"ping"}])");
  h.send_raw(R"({"jsonrpc":"2.0","id":true,"method":"ping"})");
  h.server().handle_oversized_line(1024);
  const std::vector<ojson> all = h.messages();
  ASSERT_EQ(all.size(), before + 4);
  EXPECT_EQ(error_code(all[before]), mcp::rpc::kParseError);
  EXPECT_EQ(error_code(all[before + 1]), mcp::rpc::kInvalidRequest);
  EXPECT_EQ(error_code(all[before + 2]), mcp::rpc::kInvalidRequest);
  EXPECT_EQ(error_code(all[before + 3]), mcp::rpc::kParseError);
  for (size_t i = before; i < all.size(); ++i) EXPECT_FALSE(all[i].contains("id"));

  // Notifications, responses and blank lines are never answered.
  h.send_raw(R"({"jsonrpc":"2.0","method":"notifications/whatever"})");
  h.send_raw(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}})");
  h.send_raw(R"({"jsonrpc":"2.0","id":9,"result":{}})");
  h.send_raw("");
  EXPECT_EQ(h.messages().size(), before + 4);
}

TEST(McpServer, ToolsListShowsEveryToolWithBothSchemas) {
  McpHarness h({temp_dir("mcp-list")});
  h.initialize();
  h.send_raw(R"({"jsonrpc":"2.0","id":"list","method":"tools/list"})");
  const ojson tools = h.response("list")["result"]["tools"];
  ASSERT_EQ(tools.size(), 8u);
  for (const ojson& t : tools) {
    EXPECT_EQ(t["inputSchema"]["type"], "object") << t["name"];
    EXPECT_EQ(t["outputSchema"]["type"], "object") << t["name"];
    EXPECT_TRUE(t["annotations"].contains("readOnlyHint"));
  }
}

TEST(McpServer, BadArgumentsAreToolErrorsBeforeAnyWork) {
  const auto root = temp_dir("mcp-args");
  McpHarness h({root});
  h.initialize();
  // Answered at once: no wait for the worker.
  h.call(1, "export_gguf",
         {{"model_path", "m.gguf"}, {"output_path", "o.gguf"}, {"quant_type", "Q9_9"}});
  ojson r = h.response(1)["result"];
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(tool_text(r).find("arguments.quant_type: \"Q9_9\" is not one of"), std::string::npos)
      << tool_text(r);
  EXPECT_FALSE(r.contains("structuredContent"));

  h.call(2, "test_inference",
         {{"export_path", "a.gguf"}, {"format_type", "gguf"}, {"test_prompts", "Once"}});
  EXPECT_NE(tool_text(h.response(2)["result"]).find("arguments.test_prompts: expected array"),
            std::string::npos);
  h.call(3, "export_onnx", {{"model_path", "m"}, {"output_path", "o"}, {"overwrite_all", true}});
  EXPECT_NE(tool_text(h.response(3)["result"]).find("unknown property \"overwrite_all\""),
            std::string::npos);
  h.call(4, "validate_format", {{"export_path", "a.gguf"}});
  EXPECT_NE(tool_text(h.response(4)["result"]).find("required property \"format_type\""),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(root));
}

TEST(McpServer, PathsOutsideTheRootAreToolErrorsNamingTheRule) {
  const auto base = temp_dir("mcp-outside");
  std::filesystem::create_directories(base / "root");
  McpHarness h({base / "root"});
  h.initialize();
  const ojson r = h.call_and_wait(
      1, "export_gguf",
      {{"model_path", "../m.gguf"}, {"output_path", "o.gguf"}, {"quant_type", "Q8_0"}});
  EXPECT_EQ(r["isError"], true);
  const std::string text = tool_text(r);
  EXPECT_NE(text.find("export_gguf: model_path: '../m.gguf' resolves to"), std::string::npos)
      << text;
  EXPECT_NE(text.find("rule: every path must resolve, after symlinks and '..', inside a --root"),
            std::string::npos)
      << text;
  const ojson missing = h.call_and_wait(2, "inspect_model", {{"model_path", "none.gguf"}});
  EXPECT_EQ(missing["isError"], true);
  EXPECT_NE(tool_text(missing).find("'none.gguf' does not exist"), std::string::npos);
}

}  // namespace
}  // namespace slmkit::testing
