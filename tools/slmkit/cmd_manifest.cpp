// slmkit manifest ARTIFACT... -o DIR [--name NAME]
#include <cstdio>

#include "commands.h"
#include "slmkit/manifest.h"

namespace slmkit::cli {

void register_manifest(CLI::App& app) {
  struct Args {
    std::vector<std::string> artifacts;
    std::string out = "manifests";
    std::string name;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "manifest",
      "Write DIR/NAME.json per artifact (metadata, shapes, SHA-256 of every file) and "
      "DIR/checksums.txt in sha256sum format, paths relative to DIR's parent");
  sub->add_option("artifacts", args->artifacts, "GGUF files, ONNX graphs or ONNX folders")
      ->required();
  sub->add_option("-o,--out", args->out, "Output folder (default: manifests)");
  sub->add_option("--name", args->name,
                  "Model name to record (default: GGUF general.name, or the file name where "
                  "that only names the architecture)");
  add_command(sub, [args] {
    const std::filesystem::path dir = args->out;
    const std::filesystem::path base = std::filesystem::absolute(dir).parent_path();
    std::vector<Manifest> manifests;
    for (const std::string& a : args->artifacts) {
      manifests.push_back(describe_artifact(a, base, args->name));
      const auto path = write_manifest(manifests.back(), dir);
      std::printf("%s  %s (%s %s, %zu files, %llu bytes)\n", path.string().c_str(),
                  manifests.back().checksum.c_str(), manifests.back().format.c_str(),
                  manifests.back().quantization.c_str(), manifests.back().files.size(),
                  static_cast<unsigned long long>(manifests.back().size_bytes));
    }
    std::printf("%s\n", write_checksums(manifests, dir).string().c_str());
  });
}

}  // namespace slmkit::cli
