#include "slmkit/version.h"

namespace slmkit {
const char* version() noexcept {
  return "0.1.0";
}
}  // namespace slmkit
