#include "commands.h"
namespace slmkit::cli {
void register_synth(CLI::App&) {}
}  // namespace slmkit::cli
