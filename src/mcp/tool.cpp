#include "mcp/tool.h"

#include <algorithm>
#include <cmath>

#include "core/fail.h"
#include "validate/artifact.h"

namespace slmkit::mcp {

void CallProgress::report(double fraction, const std::string& message) {
  // Hundredths of a percent: finer steps say nothing to a client.
  const double percent = std::round(std::clamp(fraction, 0.0, 1.0) * 10000.0) / 100.0;
  if (percent <= last_percent_) return;
  last_percent_ = percent;
  if (sink_) sink_(percent, message);
}

ProgressCallback CallProgress::stage(double from, double to) {
  return [this, from, to](int64_t done, int64_t total, std::string_view what) {
    const double share = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
    report(from + (to - from) * share, std::string(what));
  };
}

json Tool::listing() const {
  json j;
  j["name"] = name;
  j["title"] = title;
  j["description"] = description;
  j["inputSchema"] = input_schema;
  j["outputSchema"] = output_schema;
  j["annotations"] = annotations;
  return j;
}

const std::vector<Tool>& all_tools() {
  static const std::vector<Tool> tools = [] {
    std::vector<Tool> t;
    for (auto group :
         {export_tools, quantize_auto_tools, check_tools, describe_tools, pipeline_tools}) {
      for (Tool& tool : group()) t.push_back(std::move(tool));
    }
    return t;
  }();
  return tools;
}

const Tool* find_tool(std::string_view name) {
  for (const Tool& t : all_tools()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

json string_schema(const std::string& description) {
  return {{"type", "string"}, {"minLength", 1}, {"description", description}};
}

json enum_schema(const std::vector<std::string>& values, const std::string& description) {
  return {{"type", "string"}, {"enum", values}, {"description", description}};
}

json integer_schema(int64_t minimum, int64_t maximum, const std::string& description) {
  return {{"type", "integer"},
          {"minimum", minimum},
          {"maximum", maximum},
          {"description", description}};
}

json number_schema(const std::string& description) {
  return {{"type", "number"}, {"description", description}};
}

json boolean_schema(const std::string& description) {
  return {{"type", "boolean"}, {"description", description}};
}

json array_schema(json items, const std::string& description, size_t min_items) {
  json j = {{"type", "array"}, {"items", std::move(items)}, {"description", description}};
  if (min_items > 0) j["minItems"] = min_items;
  return j;
}

json object_schema(std::vector<std::pair<std::string, json>> properties,
                   const std::vector<std::string>& required, bool additional) {
  json props = json::object();
  for (auto& [name, schema] : properties) props[name] = std::move(schema);
  json j = {{"type", "object"}, {"properties", std::move(props)}};
  if (!required.empty()) j["required"] = required;
  j["additionalProperties"] = additional;
  return j;
}

json check_schema() {
  return object_schema(
      {
          {"name", {{"type", "string"}}},
          {"category", enum_schema({"format", "functional"}, "format or functional check")},
          {"passed", {{"type", "boolean"}}},
          {"value", {{"type", {"number", "null"}}, {"description", "what was measured"}}},
          {"bound", {{"type", {"number", "null"}}, {"description", "the limit it was held to"}}},
          {"comparison",
           {{"type", "string"}, {"description", "<=, >= or ==; empty if not numeric"}}},
          {"detail", {{"type", "string"}}},
      },
      {"name", "category", "passed", "value", "bound", "comparison", "detail"});
}

std::string arg_string(const json& args, const char* key, const std::string& fallback) {
  const auto it = args.find(key);
  return it == args.end() ? fallback : it->get<std::string>();
}

std::vector<std::string> arg_strings(const json& args, const char* key,
                                     const std::vector<std::string>& fallback) {
  const auto it = args.find(key);
  return it == args.end() ? fallback : it->get<std::vector<std::string>>();
}

int64_t arg_int(const json& args, const char* key, int64_t fallback) {
  const auto it = args.find(key);
  if (it == args.end()) return fallback;
  // The schema accepted it as an integer; 3.0 is one too.
  return it->is_number_float() ? static_cast<int64_t>(it->get<double>()) : it->get<int64_t>();
}

double arg_number(const json& args, const char* key, double fallback) {
  const auto it = args.find(key);
  return it == args.end() ? fallback : it->get<double>();
}

bool arg_bool(const json& args, const char* key, bool fallback) {
  const auto it = args.find(key);
  return it == args.end() ? fallback : it->get<bool>();
}

std::string artifact_format(const std::filesystem::path& path, const std::string& expected) {
  const artifact::Info info = artifact::classify(path);
  const std::string found = info.kind == artifact::Kind::gguf ? "gguf" : "onnx";
  if (found != expected) {
    fail_invalid("format_type is {} but '{}' is an {} artifact", expected, path.string(),
                 found == "gguf" ? "GGUF" : "ONNX");
  }
  return found;
}

}  // namespace slmkit::mcp
