// Which llama.cpp build the peer loads, and how to name it in benchmark output.
//   1. SLMKIT_LLAMA_CPP_DIR, when set: that folder, as it is.
//   2. A native build (scripts/setup.sh --native-peers: llama.cpp from the bundled source with
//      -DGGML_NATIVE=ON, in third_party/peers/llama.cpp-native, or SLMKIT_LLAMA_CPP_NATIVE_DIR),
//      when its build-info.json says it was compiled for CPU flags this machine has all of:
//      -march=native code faults on a CPU without them. SLMKIT_LLAMA_CPP_NATIVE=0 skips it, and so
//      does SLMKIT_LLAMA_CPP_CPU_VARIANT (a level only the prebuilt ships).
//   3. The prebuilt libraries from npm (@node-llama-cpp/linux-x64), whose ggml picks the best of
//      its generic CPU variants (haswell, zen4, ...) at run time.
// The prebuilt libraries are compiled for a list of CPU levels; a native build can be up to twice
// as fast on the machine that built it, so comparisons name the build they measured.
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace slmkit::peers {

struct LlamaCppBuild {
  std::filesystem::path library_dir;
  std::string kind;          // "native", "prebuilt", or "SLMKIT_LLAMA_CPP_DIR"
  bool ggml_native = false;  // compiled with -DGGML_NATIVE=ON (-march=native)
  std::string commit;        // llama.cpp source commit (native builds record it)
  std::string compiler;      // native builds: "/usr/bin/c++ 12"
  std::string built_for;     // native builds: the CPU model it was compiled on
  std::string note;          // why a native build that is present was not used ("" otherwise)
};

struct LlamaCppBuildSearch {
  std::filesystem::path environment_dir;  // SLMKIT_LLAMA_CPP_DIR ("" when unset)
  std::filesystem::path native_root;      // holds lib/ and build-info.json ("" to skip)
  std::filesystem::path prebuilt_dir;
  std::set<std::string> cpu_flags;  // this CPU's, as /proc/cpuinfo names them ("avx2", ...)
};

// The search as this process sees it: environment, the folders compiled in, /proc/cpuinfo.
LlamaCppBuildSearch llama_cpp_build_search();

// Applies the order above. Never throws: an unreadable or foreign native build is skipped with
// the reason in `note`.
LlamaCppBuild choose_llama_cpp_build(const LlamaCppBuildSearch& search);

// The flags of the first processor in a /proc/cpuinfo text (empty when there is no flags line).
std::set<std::string> cpu_flags_from_cpuinfo(const std::string& cpuinfo);

}  // namespace slmkit::peers
