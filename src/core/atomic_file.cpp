#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/fail.h"

namespace slmkit {

std::filesystem::path temporary_name(const std::filesystem::path& destination) {
  return destination.string() + ".partial-" + std::to_string(::getpid());
}

AtomicFile::AtomicFile(std::filesystem::path destination)
    : destination_(std::move(destination)), temp_(temporary_name(destination_)) {
  file_ = std::fopen(temp_.c_str(), "wb");
  if (!file_) fail_io("{}: cannot create: {}", temp_.string(), std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::write(const void* data, size_t n) {
  if (n == 0) return;
  if (std::fwrite(data, 1, n, file_) != n) {
    fail_io("{}: write failed after {} bytes: {}", temp_.string(), written_, std::strerror(errno));
  }
  written_ += n;
}

void AtomicFile::write_zeros(size_t n) {
  static const std::vector<std::byte> zeros(4096);
  while (n > 0) {
    const size_t k = std::min(n, zeros.size());
    write(zeros.data(), k);
    n -= k;
  }
}

void AtomicFile::commit() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    fail_io("{}: flush failed: {}", temp_.string(), std::strerror(errno));
  }
  if (std::fclose(file_) != 0) {
    file_ = nullptr;
    fail_io("{}: close failed: {}", temp_.string(), std::strerror(errno));
  }
  file_ = nullptr;
  std::error_code ec;
  std::filesystem::rename(temp_, destination_, ec);
  if (ec)
    fail_io("{}: cannot rename to {}: {}", temp_.string(), destination_.string(), ec.message());
  committed_ = true;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

}  // namespace slmkit
