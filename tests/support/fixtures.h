// Paths to ../shared/fixtures and a guard that skips a test, saying why, where they are absent.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "slmkit/export_onnx.h"

namespace slmkit::testing {

std::filesystem::path fixtures_dir();
bool have_fixtures();
// fixture("models/gguf-stories260K/stories260K.gguf")
std::filesystem::path fixture(const std::string& relative);
// A fresh, empty directory under the build tree, removed at exit.
std::filesystem::path temp_dir(const std::string& name);
std::string read_text(const std::filesystem::path& path);
std::vector<std::byte> read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes);
std::filesystem::path cli_path();
// The project's source tree (for third_party/peers, scripts, checked-in test data).
std::filesystem::path source_dir();
// The architecture the tests were built for (CMake's CMAKE_SYSTEM_PROCESSOR: "x86_64",
// "aarch64", "riscv64") and whether they run under an emulator (a cross build's ctest).
std::string target_arch();
bool emulated();
// Runs a shell command; returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& command, std::string* output);

}  // namespace slmkit::testing

#define SLMKIT_REQUIRE_FIXTURES()                                                          \
  do {                                                                                     \
    if (!::slmkit::testing::have_fixtures())                                               \
      GTEST_SKIP() << "shared fixtures not found at " << ::slmkit::testing::fixtures_dir() \
                   << " (clone with ../shared beside the project)";                        \
  } while (0)

// For tests that export or read ONNX: a build configured with SLMKIT_ONNX=OFF (riscv64) has none.
#define SLMKIT_REQUIRE_ONNX()                                                              \
  do {                                                                                     \
    if (!::slmkit::onnx_supported())                                                       \
      GTEST_SKIP()                                                                         \
          << "this build of slmkit has no ONNX support (configured with SLMKIT_ONNX=OFF)"; \
  } while (0)
