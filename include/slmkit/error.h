// The one exception type of the library. Every recoverable failure is an Error with a kind and a
// message that names the file, the field or offset, what was expected and what was found.
#pragma once

#include <stdexcept>
#include <string>

namespace slmkit {

enum class ErrorKind {
  invalid_input,  // a file or argument does not match what it claims to be
  io,             // the operating system refused (open, read, write, rename)
  unsupported,    // valid, but something slmkit does not handle (yet)
  internal,       // a broken invariant inside slmkit
};

const char* error_kind_name(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace slmkit
