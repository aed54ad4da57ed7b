// Writes an output under a temporary name beside its destination and renames it into place on
// commit(), so an interrupted run never leaves a half-written artifact under the final name.
#pragma once

#include <cstdio>
#include <filesystem>
#include <span>
#include <string_view>

namespace slmkit {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path destination);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::span<const std::byte> bytes) { write(bytes.data(), bytes.size()); }
  void write(std::string_view text) { write(text.data(), text.size()); }
  void write_zeros(size_t n);
  uint64_t bytes_written() const { return written_; }
  // Flushes, fsyncs and renames onto the destination.
  void commit();

  const std::filesystem::path& temporary_path() const { return temp_; }

 private:
  std::filesystem::path destination_;
  std::filesystem::path temp_;
  std::FILE* file_ = nullptr;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// Writes a whole small file atomically.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// The temporary name used for `destination` while it is being written: "NAME.partial-PID".
std::filesystem::path temporary_name(const std::filesystem::path& destination);

}  // namespace slmkit
