#pragma once

namespace slmkit {
const char* version() noexcept;  // "0.1.0"
}
