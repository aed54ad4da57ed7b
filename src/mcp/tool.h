// What a tool is to the server: its listing (name, schemas, annotations) and a function that does
// the work through the library's public API. A tool throws slmkit::Error for anything the caller
// can fix (a path outside the roots, a file that does not load); the server turns that into a
// result with isError. Cancelled passes through: the server then sends nothing for the call.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/jsonrpc.h"
#include "mcp/path_policy.h"
#include "slmkit/progress.h"

namespace slmkit::mcp {

// A call's progress as a percentage of the whole call; only growing values reach the sink (MCP
// requires progress to increase with each notification).
class CallProgress {
 public:
  using Sink = std::function<void(double percent, const std::string& message)>;
  explicit CallProgress(Sink sink) : sink_(std::move(sink)) {}
  void report(double fraction, const std::string& message);
  // A library callback that maps its done / total onto [from, to] of the call.
  ProgressCallback stage(double from, double to);

 private:
  Sink sink_;
  double last_percent_ = -1;
};

struct ToolContext {
  const PathPolicy& paths;
  int n_threads = 0;
  CancelToken cancel;
  CallProgress& progress;
};

struct ToolResult {
  json structured;      // matches the tool's outputSchema
  std::string summary;  // a few lines for the model and for people
};

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  json input_schema;
  json output_schema;
  json annotations;
  std::function<ToolResult(const json& arguments, ToolContext& context)> run;

  json listing() const;  // the entry of tools/list
};

// Every tool, in the order tools/list shows them.
const std::vector<Tool>& all_tools();
const Tool* find_tool(std::string_view name);

// One function per file of tools, collected by all_tools().
std::vector<Tool> export_tools();         // export_gguf, export_onnx
std::vector<Tool> check_tools();          // validate_format, test_inference
std::vector<Tool> describe_tools();       // create_manifest, inspect_model
std::vector<Tool> pipeline_tools();       // run_pipeline
std::vector<Tool> quantize_auto_tools();  // quantize_auto

// Error(invalid_input) when `out` is model_path itself or exists and is not a GGUF file (a tool
// replaces only a file of the kind it writes); `given` is the argument as the caller wrote it.
void check_gguf_output(const std::filesystem::path& out, const std::filesystem::path& model,
                       const std::string& given);
void make_parent(const std::filesystem::path& out);  // Error(io) when the folder cannot be made

// model_path and output_path, both inside the roots; `check_output` (check_gguf_output, ...)
// refuses an output the tool may not replace.
struct ExportPaths {
  std::filesystem::path model, out;
};
ExportPaths export_paths(const json& args, ToolContext& ctx,
                         void (*check_output)(const std::filesystem::path& out,
                                              const std::filesystem::path& model,
                                              const std::string& given));

// Schema pieces, so each tool's schema reads as a table of its arguments.
json string_schema(const std::string& description);
json enum_schema(const std::vector<std::string>& values, const std::string& description);
json integer_schema(int64_t minimum, int64_t maximum, const std::string& description);
json number_schema(const std::string& description);
json boolean_schema(const std::string& description);
json array_schema(json items, const std::string& description, size_t min_items = 0);
json object_schema(std::vector<std::pair<std::string, json>> properties,
                   const std::vector<std::string>& required, bool additional = false);
// The listing of a ValidationCheck ({name, category, passed, value, bound, ...}).
json check_schema();

// Arguments, read after the schema has accepted them.
std::string arg_string(const json& args, const char* key, const std::string& fallback = "");
std::vector<std::string> arg_strings(const json& args, const char* key,
                                     const std::vector<std::string>& fallback = {});
int64_t arg_int(const json& args, const char* key, int64_t fallback);
double arg_number(const json& args, const char* key, double fallback);
bool arg_bool(const json& args, const char* key, bool fallback);

// "gguf" or "onnx" from the artifact itself (the rule validate_artifact uses); Error when it is
// neither, or when it is not `expected` (the format_type argument).
std::string artifact_format(const std::filesystem::path& path, const std::string& expected);

}  // namespace slmkit::mcp
