// The include graph follows the layers: a module of src/ includes only its own headers and those
// of the modules below it, the CLI and the public headers only the public API. Read from the
// source tree, so an include against the layering fails here rather than in a review.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace slmkit::testing {
namespace {

namespace fs = std::filesystem;

// Lowest first. core: dtypes, tensors, the neutral model, files, errors; arch: the families'
// tables (data); tokenizer: vocabularies and encoders (also the vocab file parsers that formats
// read a folder with); formats: GGUF, safetensors, llama2.c <-> model; quant: the type registry
// and quantizers; io: what a path holds, load/save, tokenizer sources; synth; kernels; eval: the
// evaluation driver over a logit source; engine; export; peers: other runtimes; validate; bench;
// mix: mixed precision by measurement (sensitivity on the engine, kernel costs, the search);
// pipeline; the front ends over all of it: mcp (the agent server) and capi (the C API).
constexpr std::array<const char*, 18> kLayers = {
    "core",   "arch",   "tokenizer", "formats",  "quant", "io",  "synth",    "kernels", "eval",
    "engine", "export", "peers",     "validate", "bench", "mix", "pipeline", "mcp",     "capi"};

int layer_of(const std::string& module) {
  for (size_t i = 0; i < kLayers.size(); ++i) {
    if (module == kLayers[i]) return static_cast<int>(i);
  }
  return -1;
}

// The first path component of every quoted include.
std::vector<std::string> included_modules(const fs::path& file) {
  static const std::regex include(R"(^\s*#\s*include\s+"([A-Za-z_]+)/)");
  std::vector<std::string> out;
  std::ifstream in(file);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, include)) out.push_back(m[1]);
  }
  return out;
}

std::vector<fs::path> sources_under(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".h" || ext == ".cpp")) out.push_back(e.path());
  }
  return out;
}

TEST(Layering, EveryModuleOfSrcIsALayer) {
  for (const auto& e : fs::directory_iterator(source_dir() / "src")) {
    if (!e.is_directory() || e.path().filename() == "proto") continue;
    EXPECT_GE(layer_of(e.path().filename().string()), 0)
        << e.path().filename() << ": add it to kLayers";
  }
}

TEST(Layering, ModulesIncludeOnlyTheirOwnAndLowerLayers) {
  std::vector<std::string> violations;
  for (const char* module : kLayers) {
    const fs::path dir = source_dir() / "src" / module;
    if (!fs::is_directory(dir)) continue;
    for (const fs::path& file : sources_under(dir)) {
      for (const std::string& inc : included_modules(file)) {
        const int target = layer_of(inc);
        if (target > layer_of(module)) {
          violations.push_back(fs::relative(file, source_dir()).string() + " includes " + inc +
                               "/ (above " + module + ")");
        }
      }
    }
  }
  EXPECT_TRUE(violations.empty()) << ::testing::PrintToString(violations);
}

TEST(Layering, CliAndPublicHeadersUseOnlyThePublicApi) {
  std::vector<std::string> violations;
  for (const char* dir : {"tools", "include"}) {
    for (const fs::path& file : sources_under(source_dir() / dir)) {
      for (const std::string& inc : included_modules(file)) {
        if (inc != "slmkit") {
          violations.push_back(fs::relative(file, source_dir()).string() + " includes " + inc +
                               "/");
        }
      }
    }
  }
  EXPECT_TRUE(violations.empty()) << ::testing::PrintToString(violations);
}

}  // namespace
}  // namespace slmkit::testing
