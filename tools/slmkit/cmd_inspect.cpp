#include "commands.h"
namespace slmkit::cli {
void register_inspect(CLI::App&) {}
}  // namespace slmkit::cli
