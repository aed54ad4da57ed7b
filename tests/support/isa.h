// Forcing the kernels' instruction set inside a test, and putting back what was in force before
// (SLMKIT_ISA when the forced-ISA matrix runs the test, else Highway's best), so that a test which
// visits every ISA does not leave the rest of the binary on another path.
#pragma once

#include <string>
#include <string_view>

#include "kernels/kernels.h"

namespace slmkit::testing {

class ScopedIsa {
 public:
  explicit ScopedIsa(std::string_view isa) : saved_(kernels::current_isa()) {
    kernels::set_isa(isa);
  }
  ~ScopedIsa() { kernels::set_isa(saved_); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  std::string saved_;
};

}  // namespace slmkit::testing
