// Anonymous memory for the engine's repacked weights: mapped (zero-filled by the kernel as each
// page is first touched, with no memset pass over it), and, from 2 MiB up, offered transparent
// huge pages. Packing a large model into 4 KiB
// pages faults each page in separately: tinyllama-1.1b F16 (2 GiB packed) loaded in 7.3-8.5 s from
// a zeroed std::vector, 6.5-6.7 s unzeroed, 3.8-4.1 s with huge pages (`slmkit run -n 1`, 2
// threads, 2-core Zen 5). Decode speed measured the same either way.
#pragma once

#include <cstddef>

namespace slmkit {

class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(size_t bytes);  // throws std::bad_alloc when the mapping fails
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace slmkit
