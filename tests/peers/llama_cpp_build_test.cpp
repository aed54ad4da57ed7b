// Which llama.cpp build the peer loads (peers/llama_cpp_build.h): the environment's folder, else a
// native build made for flags this CPU has, else the prebuilt libraries, with the reason when a
// native build is present but skipped.
#include "peers/llama_cpp_build.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace slmkit::peers {
namespace {

namespace fs = std::filesystem;

LlamaCppBuildSearch search_with_native(const fs::path& root, const std::string& build_info) {
  fs::create_directories(root / "lib");
  if (!build_info.empty()) std::ofstream(root / "build-info.json") << build_info;
  LlamaCppBuildSearch s;
  s.native_root = root;
  s.prebuilt_dir = "/opt/prebuilt";
  s.cpu_flags = {"fpu", "sse2", "avx2", "fma"};
  return s;
}

TEST(LlamaCppBuild, NativeWhenBuiltForThisCpu) {
  const fs::path root = testing::temp_dir("llama_native_ok");
  const LlamaCppBuild b = choose_llama_cpp_build(search_with_native(
      root,
      R"({"commit": "de3ff81aa", "ggml_native": true, "compiler": "/usr/bin/c++ 12",
          "cpu_model": "AMD EPYC", "cpu_flags": ["sse2", "avx2"]})"));
  EXPECT_EQ(b.kind, "native");
  EXPECT_EQ(b.library_dir, root / "lib");
  EXPECT_TRUE(b.ggml_native);
  EXPECT_EQ(b.commit, "de3ff81aa");
  EXPECT_EQ(b.built_for, "AMD EPYC");
  EXPECT_TRUE(b.note.empty());
}

TEST(LlamaCppBuild, PrebuiltWhenNativeNeedsFlagsThisCpuLacks) {
  const fs::path root = testing::temp_dir("llama_native_foreign");
  const LlamaCppBuild b = choose_llama_cpp_build(search_with_native(
      root, R"({"ggml_native": true, "cpu_flags": ["sse2", "avx512f", "avx512_vnni"]})"));
  EXPECT_EQ(b.kind, "prebuilt");
  EXPECT_EQ(b.library_dir, "/opt/prebuilt");
  EXPECT_NE(b.note.find("lacks (avx512f avx512_vnni)"), std::string::npos) << b.note;
}

TEST(LlamaCppBuild, PrebuiltWhenNativeIsAbsentOrUnreadable) {
  LlamaCppBuildSearch none;
  none.native_root = testing::temp_dir("llama_native_absent") / "nothing";
  none.prebuilt_dir = "/opt/prebuilt";
  LlamaCppBuild b = choose_llama_cpp_build(none);
  EXPECT_EQ(b.kind, "prebuilt");
  EXPECT_TRUE(b.note.empty());  // nothing there: nothing to explain

  b = choose_llama_cpp_build(search_with_native(testing::temp_dir("llama_native_bad"), "{oops"));
  EXPECT_EQ(b.kind, "prebuilt");
  EXPECT_NE(b.note.find("build-info.json unreadable"), std::string::npos) << b.note;
}

TEST(LlamaCppBuild, EnvironmentFolderWins) {
  LlamaCppBuildSearch s = search_with_native(testing::temp_dir("llama_native_env"),
                                             R"({"ggml_native": true, "cpu_flags": []})");
  s.environment_dir = "/somewhere/else";
  const LlamaCppBuild b = choose_llama_cpp_build(s);
  EXPECT_EQ(b.kind, "SLMKIT_LLAMA_CPP_DIR");
  EXPECT_EQ(b.library_dir, "/somewhere/else");
}

TEST(LlamaCppBuild, CpuFlagsFromCpuinfo) {
  const std::string x86 =
      "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f\n\n"
      "processor\t: 1\nflags\t\t: fpu\n";
  EXPECT_EQ(cpu_flags_from_cpuinfo(x86), (std::set<std::string>{"fpu", "sse2", "avx2", "avx512f"}));
  EXPECT_EQ(cpu_flags_from_cpuinfo("processor\t: 0\nFeatures\t: fp asimd sve\n"),
            (std::set<std::string>{"fp", "asimd", "sve"}));
  EXPECT_TRUE(cpu_flags_from_cpuinfo("").empty());
}

}  // namespace
}  // namespace slmkit::peers
