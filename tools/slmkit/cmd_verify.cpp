// slmkit verify MANIFEST.json | checksums.txt
#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "slmkit/manifest.h"

namespace slmkit::cli {

void register_verify(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "verify",
      "Re-check every file a manifest or checksums.txt lists (existence, size, SHA-256); exit "
      "status 1 naming each mismatch");
  sub->add_option("manifest", *path, "NAME.json or checksums.txt (in ROOT/manifests/)")->required();
  add_command(sub, [path] {
    const auto problems = verify_manifest(*path);
    for (const VerifyProblem& p : problems) {
      std::fprintf(stderr, "%s: %s\n", p.path.string().c_str(), p.what.c_str());
    }
    if (!problems.empty()) {
      std::fprintf(stderr, "slmkit verify: %zu mismatch%s in %s\n", problems.size(),
                   problems.size() == 1 ? "" : "es", path->c_str());
      std::fflush(stdout);
      std::exit(1);
    }
    std::printf("%s: OK\n", path->c_str());
  });
}

}  // namespace slmkit::cli
