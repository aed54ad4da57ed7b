// A bump allocator over one block of memory its caller owns (the C API's session arena), or,
// with no block, a counter of what would be taken: the same code that fills an arena then also
// sizes it, so the size a host is told to provide is exactly what is carved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace slmkit {

class Arena {
 public:
  static constexpr size_t kAlignment = 64;  // the base must be aligned to this; no take asks more

  Arena() = default;  // measuring: take() returns nullptr and only counts
  Arena(void* base, size_t size) : base_(static_cast<std::byte*>(base)), size_(size) {}

  bool measuring() const { return base_ == nullptr; }
  size_t used() const { return used_; }

  // `bytes` at the next multiple of `align` (a power of two, at most kAlignment). Past the end of
  // the block it throws std::bad_alloc and takes nothing: the block is never overrun.
  void* take(size_t bytes, size_t align) {
    const size_t start = (used_ + align - 1) & ~(align - 1);
    if (start < used_ || bytes > SIZE_MAX - start) throw std::bad_alloc();
    if (!measuring() && start + bytes > size_) throw std::bad_alloc();
    used_ = start + bytes;
    return measuring() ? nullptr : base_ + start;
  }

 private:
  std::byte* base_ = nullptr;
  size_t size_ = 0;
  size_t used_ = 0;
};

}  // namespace slmkit
