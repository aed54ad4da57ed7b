// A fixed-size, 64-byte aligned array: the engine's activations and KV cache, allocated once
// when a session is created (cache-line aligned so that threads writing neighbouring rows do not
// share lines at the start of each buffer). Its memory comes from the heap, or from an Arena the
// caller owns (then it is never freed here; with a measuring arena it only counts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "core/arena.h"

namespace slmkit::engine {

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n, Arena* arena = nullptr) : n_(n) {
    if (n == 0) return;
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    void* p = arena ? arena->take(n * sizeof(T), kAlign)
                    : ::operator new (n * sizeof(T), std::align_val_t{kAlign});
    data_ = std::unique_ptr<T[], Free>(static_cast<T*>(p), Free{arena == nullptr});
    if (p) std::memset(p, 0, n * sizeof(T));
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  static constexpr size_t kAlign = 64;
  struct Free {
    bool heap = true;
    void operator()(T* p) const {
      if (heap) ::operator delete (static_cast<void*>(p), std::align_val_t{kAlign});
    }
  };
  std::unique_ptr<T[], Free> data_;
  size_t n_ = 0;
};

}  // namespace slmkit::engine
