#include "commands.h"

#include <map>

namespace slmkit::cli {
namespace {
std::map<const CLI::App*, Action>& actions() {
  static std::map<const CLI::App*, Action> table;
  return table;
}
}  // namespace

void add_command(CLI::App* sub, Action action) {
  actions()[sub] = std::move(action);
}

void register_commands(CLI::App& app) {
  register_inspect(app);
  register_synth(app);
  register_tokenize(app);
  register_run(app);
  register_perplexity(app);
  register_eval(app);
  register_imatrix(app);
  register_export(app);
  register_quantize(app);
  register_pipeline(app);
  register_validate(app);
  register_manifest(app);
  register_verify(app);
  register_bench(app);
  register_mcp(app);
}

void run_selected(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands()) {
    auto it = actions().find(sub);
    if (it != actions().end()) it->second();
  }
}

}  // namespace slmkit::cli
