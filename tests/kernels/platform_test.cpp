// current_platform() against what the build and the test run know independently: CMake's target
// processor, whether ctest runs the tests under an emulator, and the kernels' ISA choices.
#include <gtest/gtest.h>

#include <algorithm>

#include "kernels/kernels.h"
#include "slmkit/platform.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

TEST(Platform, ArchAndEmulationAsTheBuildKnowsThem) {
  const Platform p = current_platform();
  EXPECT_EQ(p.arch, slmkit::testing::target_arch());
  EXPECT_EQ(p.how, slmkit::testing::emulated() ? "qemu-user" : "native");
}

TEST(Platform, IsaFollowsTheForcedChoice) {
  const std::vector<std::string> isas = kernels::available_isas();
  const std::string before = kernels::current_isa();
  EXPECT_EQ(current_platform().cpu_isa, isas.back());
  for (const std::string& isa : isas) {
    kernels::set_isa(isa);
    EXPECT_EQ(current_platform().isa, isa);
    EXPECT_EQ(current_platform().cpu_isa, isas.back());  // the CPU's best does not move
  }
  kernels::set_isa(before);
}

}  // namespace
}  // namespace slmkit
