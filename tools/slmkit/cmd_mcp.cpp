// slmkit mcp [--root DIR]... [--threads N]
#include "commands.h"
#include "slmkit/mcp.h"

namespace slmkit::cli {

void register_mcp(CLI::App& app) {
  struct Args {
    std::vector<std::string> roots;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "mcp",
      "Serve the export tools (export_gguf, export_onnx, validate_format, test_inference, "
      "create_manifest, inspect_model, run_pipeline) over the Model Context Protocol on "
      "stdin/stdout, for agents; logs go to stderr");
  sub->add_option("--root", args->roots,
                  "Folder the tools may read and write (repeatable; default: the current "
                  "directory). Every path must resolve inside one; relative paths start at the "
                  "first");
  sub->add_option("--threads", args->threads, "Threads per tool call (0: every core)");
  add_command(sub, [args] {
    McpServerOptions options;
    for (const std::string& r : args->roots) options.roots.emplace_back(r);
    options.n_threads = args->threads;
    serve_mcp_stdio(options);
  });
}

}  // namespace slmkit::cli
