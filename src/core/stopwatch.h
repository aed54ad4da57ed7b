// Wall-clock seconds since a start, for progress lines, results and reports.
#pragma once

#include <chrono>

namespace slmkit {

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace slmkit
