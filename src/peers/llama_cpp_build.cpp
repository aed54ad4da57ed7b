#include "peers/llama_cpp_build.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#ifndef SLMKIT_LLAMA_CPP_DEFAULT_DIR
#define SLMKIT_LLAMA_CPP_DEFAULT_DIR ""
#endif
#ifndef SLMKIT_LLAMA_CPP_NATIVE_DEFAULT_DIR
#define SLMKIT_LLAMA_CPP_NATIVE_DEFAULT_DIR ""
#endif

namespace slmkit::peers {

namespace fs = std::filesystem;

std::set<std::string> cpu_flags_from_cpuinfo(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  for (std::string line; std::getline(lines, line);) {
    // x86 says "flags", arm64 "Features".
    if (!line.starts_with("flags") && !line.starts_with("Features")) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

LlamaCppBuildSearch llama_cpp_build_search() {
  LlamaCppBuildSearch s;
  if (const char* env = std::getenv("SLMKIT_LLAMA_CPP_DIR"); env && *env) s.environment_dir = env;
  const char* off = std::getenv("SLMKIT_LLAMA_CPP_NATIVE");
  // A forced CPU variant (the forced-ISA test matrix) names one of the prebuilt's per-level
  // libraries; a native build has only the one for its own CPU.
  const char* variant = std::getenv("SLMKIT_LLAMA_CPP_CPU_VARIANT");
  if (!(off && std::string_view(off) == "0") && !(variant && *variant)) {
    const char* env = std::getenv("SLMKIT_LLAMA_CPP_NATIVE_DIR");
    s.native_root = env && *env ? fs::path(env) : fs::path(SLMKIT_LLAMA_CPP_NATIVE_DEFAULT_DIR);
  }
  s.prebuilt_dir = SLMKIT_LLAMA_CPP_DEFAULT_DIR;
  std::ifstream in("/proc/cpuinfo");
  std::ostringstream text;
  text << in.rdbuf();
  s.cpu_flags = cpu_flags_from_cpuinfo(text.str());
  return s;
}

namespace {

LlamaCppBuild prebuilt(const LlamaCppBuildSearch& s, std::string note) {
  LlamaCppBuild b;
  b.library_dir = s.prebuilt_dir;
  b.kind = "prebuilt";
  b.note = std::move(note);
  return b;
}

}  // namespace

LlamaCppBuild choose_llama_cpp_build(const LlamaCppBuildSearch& s) {
  if (!s.environment_dir.empty()) {
    LlamaCppBuild b;
    b.library_dir = s.environment_dir;
    b.kind = "SLMKIT_LLAMA_CPP_DIR";
    return b;
  }
  std::error_code ec;
  if (s.native_root.empty() || !fs::is_directory(s.native_root / "lib", ec)) return prebuilt(s, "");
  const fs::path info_path = s.native_root / "build-info.json";
  nlohmann::json info;
  try {
    std::ifstream in(info_path);
    info = nlohmann::json::parse(in);
    LlamaCppBuild b;
    b.library_dir = s.native_root / "lib";
    b.kind = "native";
    b.ggml_native = info.value("ggml_native", false);
    b.commit = info.value("commit", std::string());
    b.compiler = info.value("compiler", std::string());
    b.built_for = info.value("cpu_model", std::string());
    std::string missing;
    for (const std::string& flag : info.at("cpu_flags").get<std::vector<std::string>>()) {
      if (!s.cpu_flags.contains(flag)) missing += (missing.empty() ? "" : " ") + flag;
    }
    if (!missing.empty()) {
      return prebuilt(s, fmt::format("native build {} was compiled for a CPU with flags this one "
                                     "lacks ({}); using the prebuilt libraries",
                                     s.native_root.string(), missing));
    }
    return b;
  } catch (const nlohmann::json::exception& e) {
    return prebuilt(s, fmt::format("native build {}: {} unreadable ({}); using the prebuilt "
                                   "libraries",
                                   s.native_root.string(), info_path.string(), e.what()));
  }
}

}  // namespace slmkit::peers
