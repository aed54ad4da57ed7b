// Shared helpers of the kernel tests: a test fixture parameterized over every instruction set the
// build and CPU offer, buffers at chosen misalignments, and the unit roundoff used in tolerances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/kernels.h"
#include "support/isa.h"

namespace slmkit::testing {

// Unit roundoff of f32 (half an ulp of 1): every correctly rounded f32 operation has relative
// error at most kU.
constexpr double kU = 1.0 / (1 << 24);

// gamma_n = n u / (1 - n u): the classic bound on the relative error of a sum of n terms
// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1), whatever the summation order.
inline double gamma(int64_t n) {
  const double nu = static_cast<double>(n) * kU;
  return nu / (1.0 - nu);
}

// Storage whose data() is `misalign_bytes` past a 64-byte boundary, so kernels see pointers that
// are not vector-aligned.
template <typename T>
class Buffer {
 public:
  Buffer(size_t n, size_t misalign_bytes) : n_(n) {
    raw_.resize(n * sizeof(T) + 128 + misalign_bytes);
    auto base = reinterpret_cast<uintptr_t>(raw_.data());
    const uintptr_t aligned = (base + 63) & ~uintptr_t{63};
    ptr_ = reinterpret_cast<T*>(aligned + misalign_bytes);
  }
  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  std::byte* bytes() { return reinterpret_cast<std::byte*>(ptr_); }
  T& operator[](size_t i) { return ptr_[i]; }
  const T& operator[](size_t i) const { return ptr_[i]; }
  size_t size() const { return n_; }

 private:
  std::vector<std::byte> raw_;
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

// Lengths every kernel is tested at: every size up to 67 (all tails of every vector width up to
// 64 lanes, plus one) and a few long rows.
inline std::vector<int64_t> test_lengths() {
  std::vector<int64_t> sizes;
  for (int64_t n = 1; n <= 67; ++n) sizes.push_back(n);
  for (int64_t n : {255, 256, 257, 1000, 1023, 4099}) sizes.push_back(n);
  return sizes;
}

class IsaTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { isa_.emplace(GetParam()); }
  void TearDown() override { isa_.reset(); }

 private:
  std::optional<ScopedIsa> isa_;
};

inline std::string isa_param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace slmkit::testing
