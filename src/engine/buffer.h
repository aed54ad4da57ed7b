// A fixed-size, 64-byte aligned array: the engine's activations and KV cache, allocated once
// when a session is created (cache-line aligned so that threads writing neighbouring rows do not
// share lines at the start of each buffer).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

namespace slmkit::engine {

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) : n_(n) {
    if (n == 0) return;
    data_.reset(static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64})));
    std::memset(static_cast<void*>(data_.get()), 0, n * sizeof(T));
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  struct Free {
    void operator()(T* p) const { ::operator delete (static_cast<void*>(p), std::align_val_t{64}); }
  };
  std::unique_ptr<T[], Free> data_;
  size_t n_ = 0;
};

}  // namespace slmkit::engine
