// slmkit: argument handling only; every subcommand calls the library's public API.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "slmkit/error.h"
#include "slmkit/version.h"

int main(int argc, char** argv) {
  CLI::App app{"slmkit: quantize, export, validate, benchmark and run small language models"};
  app.set_version_flag("--version", std::string("slmkit ") + slmkit::version());
  app.require_subcommand(1);
  slmkit::cli::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    slmkit::cli::run_selected(app);
  } catch (const slmkit::Error& e) {
    std::fprintf(stderr, "slmkit: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "slmkit: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
