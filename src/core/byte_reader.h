// Bounds-checked little-endian reads from a byte span. Every failure throws Error(invalid_input)
// naming the file, the field being read, its offset, and how many bytes were needed and left.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "core/fail.h"

namespace slmkit {

class ByteReader {
 public:
  ByteReader(std::span<const std::byte> data, std::string file)
      : data_(data), file_(std::move(file)) {}

  size_t offset() const { return pos_; }
  size_t size() const { return data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }
  const std::string& file() const { return file_; }
  std::span<const std::byte> data() const { return data_; }

  void seek(size_t offset, std::string_view field) {
    if (offset > data_.size()) {
      fail_invalid("{}: {} at offset {} is past the end of the file ({} bytes)", file_, field,
                   offset, data_.size());
    }
    pos_ = offset;
  }

  // Throws unless `n` more bytes are available for `field`.
  void need(uint64_t n, std::string_view field) const {
    if (n > remaining()) {
      fail_invalid("{}: truncated at offset {} reading {}: need {} bytes, {} left", file_, pos_,
                   field, n, remaining());
    }
  }

  template <typename T>
  T read(std::string_view field) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::span<const std::byte> bytes(uint64_t n, std::string_view field) {
    need(n, field);
    auto s = data_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

  std::string_view string(uint64_t n, std::string_view field) {
    auto b = bytes(n, field);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

  void skip(uint64_t n, std::string_view field) { bytes(n, field); }

  // Formats an error located at the current offset.
  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> format, Args&&... args) const {
    fail_invalid("{}: at offset {}: {}", file_, pos_,
                 fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  std::span<const std::byte> data_;
  std::string file_;
  size_t pos_ = 0;
};

}  // namespace slmkit
