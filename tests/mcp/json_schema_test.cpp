// The schema subset the tools use, and the tools' schemas themselves.
#include "mcp/json_schema.h"

#include <set>

#include <gtest/gtest.h>

#include "mcp/tool.h"
#include "slmkit/quantize.h"

namespace slmkit::mcp {
namespace {

const json kSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "path": {"type": "string", "minLength": 1},
    "kind": {"type": "string", "enum": ["gguf", "onnx"]},
    "n": {"type": "integer", "minimum": 1, "maximum": 10},
    "x": {"type": "number"},
    "flag": {"type": "boolean"},
    "list": {"type": "array", "items": {"type": "string", "maxLength": 3}, "minItems": 1,
             "maxItems": 2},
    "v": {"type": ["number", "null"]}
  },
  "required": ["path", "kind"],
  "additionalProperties": false
})");

TEST(JsonSchema, AcceptsValidInstances) {
  EXPECT_TRUE(schema_errors(kSchema, json::parse(R"({"path":"a","kind":"gguf"})")).empty());
  EXPECT_TRUE(schema_errors(kSchema, json::parse(R"({"path":"a","kind":"onnx","n":10,"x":-1.5,
      "flag":true,"list":["abc"],"v":null})"))
                  .empty());
  // JSON Schema's integer is any number without a fraction.
  EXPECT_TRUE(schema_errors(kSchema, json::parse(R"({"path":"a","kind":"gguf","n":3.0})")).empty());
}

// Each violation is reported once, naming where and what.
void expect_one(const std::string& instance, const std::string& fragment) {
  const auto errors = schema_errors(kSchema, json::parse(instance));
  ASSERT_EQ(errors.size(), 1u) << instance;
  EXPECT_NE(errors[0].find(fragment), std::string::npos) << errors[0];
}

TEST(JsonSchema, NamesEachViolation) {
  expect_one(R"({"kind":"gguf"})", "arguments: required property \"path\" is missing");
  expect_one(R"({"path":"","kind":"gguf"})", "arguments.path: 0 characters, at least 1");
  expect_one(R"({"path":1,"kind":"gguf"})", "arguments.path: expected string, found integer 1");
  expect_one(R"({"path":"a","kind":"GGUF"})", "arguments.kind: \"GGUF\" is not one of \"gguf\"");
  expect_one(R"({"path":"a","kind":"gguf","n":0})", "arguments.n: 0 is below the minimum 1");
  expect_one(R"({"path":"a","kind":"gguf","n":11})", "arguments.n: 11 is above the maximum 10");
  expect_one(R"({"path":"a","kind":"gguf","n":2.5})",
             "arguments.n: expected integer, found number");
  expect_one(R"({"path":"a","kind":"gguf","x":"1"})", "arguments.x: expected number");
  expect_one(R"({"path":"a","kind":"gguf","flag":1})", "arguments.flag: expected boolean");
  expect_one(R"({"path":"a","kind":"gguf","list":[]})", "arguments.list: 0 items, at least 1");
  expect_one(R"({"path":"a","kind":"gguf","list":["a","b","c"]})", "3 items, at most 2");
  expect_one(R"({"path":"a","kind":"gguf","list":["a",2]})", "arguments.list[1]: expected string");
  expect_one(R"({"path":"a","kind":"gguf","list":["abcd"]})", "arguments.list[0]: 4 characters");
  expect_one(R"({"path":"a","kind":"gguf","v":"x"})", "expected number or null");
  expect_one(R"({"path":"a","kind":"gguf","extra":1})",
             "unknown property \"extra\" (known: path, kind, n, x, flag, list, v)");
  EXPECT_EQ(schema_errors(kSchema, json::parse(R"({"path":3,"kind":4})")).size(), 2u);
  expect_one(R"([1])", "arguments: expected object, found array");
}

TEST(JsonSchema, FindsKeywordsItDoesNotImplement) {
  const json s = json::parse(R"({"type":"object","properties":{"a":{"type":"string",
      "pattern":"x"}},"oneOf":[]})");
  const std::vector<std::string> unknown = unknown_keywords(s);
  EXPECT_EQ(unknown, (std::vector<std::string>{"/oneOf", "/properties/a/pattern"}));
}

TEST(ToolSchemas, EveryToolIsListedWithCheckableSchemas) {
  std::vector<std::string> names;
  for (const Tool& t : all_tools()) {
    names.push_back(t.name);
    EXPECT_TRUE(unknown_keywords(t.input_schema).empty()) << t.name;
    EXPECT_TRUE(unknown_keywords(t.output_schema).empty()) << t.name;
    // MCP: both schemas describe objects.
    EXPECT_EQ(t.input_schema["type"], "object") << t.name;
    EXPECT_EQ(t.output_schema["type"], "object") << t.name;
    for (const json& r : t.input_schema.value("required", json::array())) {
      EXPECT_TRUE(t.input_schema["properties"].contains(r.get<std::string>()))
          << t.name << " " << r;
    }
    for (const json& r : t.output_schema.value("required", json::array())) {
      EXPECT_TRUE(t.output_schema["properties"].contains(r.get<std::string>()))
          << t.name << " " << r;
    }
    const json listing = t.listing();
    for (const char* key : {"name", "title", "description", "inputSchema", "outputSchema"}) {
      EXPECT_TRUE(listing.contains(key)) << t.name << " " << key;
    }
    EXPECT_FALSE(t.description.empty());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"export_gguf", "export_onnx", "quantize_auto",
                                             "validate_format", "test_inference", "create_manifest",
                                             "inspect_model", "run_pipeline"}));
}

TEST(ToolSchemas, SeedArgumentNamesAndQuantTypes) {
  const auto required = [](const char* tool) {
    std::set<std::string> s;
    for (const json& r : find_tool(tool)->input_schema["required"]) s.insert(r.get<std::string>());
    return s;
  };
  EXPECT_EQ(required("export_gguf"),
            (std::set<std::string>{"model_path", "output_path", "quant_type"}));
  EXPECT_EQ(required("export_onnx"), (std::set<std::string>{"model_path", "output_path"}));
  EXPECT_EQ(required("quantize_auto"),
            (std::set<std::string>{"model_path", "output_path", "calibration_path"}));
  EXPECT_EQ(required("validate_format"), (std::set<std::string>{"export_path", "format_type"}));
  EXPECT_EQ(required("test_inference"),
            (std::set<std::string>{"export_path", "format_type", "test_prompts"}));
  EXPECT_EQ(required("create_manifest"),
            (std::set<std::string>{"model_info", "output_path", "export_paths"}));
  // quant_type takes exactly what `slmkit quantize` takes.
  EXPECT_EQ(find_tool("export_gguf")->input_schema["properties"]["quant_type"]["enum"],
            json(quantize_type_names()));
  EXPECT_EQ(find_tool("no_such_tool"), nullptr);
}

}  // namespace
}  // namespace slmkit::mcp
