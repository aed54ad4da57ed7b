// Capturing the slmkit::Error a call throws, so a test can check its kind and message.
#pragma once

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "slmkit/error.h"

namespace slmkit::testing {

inline Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an slmkit::Error";
  return Error(ErrorKind::internal, "");
}

inline bool contains(const Error& e, const std::string& piece) {
  return std::string(e.what()).find(piece) != std::string::npos;
}

}  // namespace slmkit::testing
