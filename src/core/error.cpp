#include "slmkit/error.h"

namespace slmkit {

const char* error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_input:
      return "invalid input";
    case ErrorKind::io:
      return "I/O error";
    case ErrorKind::unsupported:
      return "unsupported";
    case ErrorKind::internal:
      return "internal error";
  }
  return "error";
}

}  // namespace slmkit
