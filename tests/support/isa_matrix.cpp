// Linked into every test binary. With SLMKIT_ISA set, the binary's kernels run on that path
// (kernels/isa.cpp reads it); this environment reports which path that is, and skips every test,
// with the reason, where this build and CPU do not offer it. Under the forced-ISA matrix of
// tests/CMakeLists.txt (SLMKIT_ISA_MATRIX=1) it also skips the CPU's default path, which the
// unforced entries already run.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/kernels.h"
#include "slmkit/error.h"

namespace slmkit::testing {
namespace {

class IsaMatrixEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* forced = std::getenv("SLMKIT_ISA");
    if (!forced || !*forced) return;
    std::string current;
    try {
      current = kernels::current_isa();
    } catch (const Error& e) {
      GTEST_SKIP() << "SLMKIT_ISA=" << forced << ": skipped, not offered here (" << e.what() << ")";
    }
    const char* matrix = std::getenv("SLMKIT_ISA_MATRIX");
    if (matrix && *matrix && current == kernels::available_isas().back()) {
      GTEST_SKIP() << "SLMKIT_ISA=" << forced
                   << ": skipped, this CPU's default path (the unforced tests run it)";
    }
    std::printf("kernels forced to %s (SLMKIT_ISA)\n", current.c_str());
  }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new IsaMatrixEnvironment);

}  // namespace
}  // namespace slmkit::testing
