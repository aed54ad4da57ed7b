// Each subcommand lives in its own file and registers itself here.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace slmkit::cli {

void register_commands(CLI::App& app);
void run_selected(CLI::App& app);

// One registration function per subcommand file.
using Action = std::function<void()>;
void add_command(CLI::App* sub, Action action);

void register_inspect(CLI::App& app);
void register_synth(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_run(CLI::App& app);
void register_perplexity(CLI::App& app);
void register_eval(CLI::App& app);
void register_imatrix(CLI::App& app);
void register_export(CLI::App& app);
void register_quantize(CLI::App& app);
void register_pipeline(CLI::App& app);
void register_validate(CLI::App& app);
void register_manifest(CLI::App& app);
void register_verify(CLI::App& app);
void register_bench(CLI::App& app);
void register_mcp(CLI::App& app);

}  // namespace slmkit::cli
