// A read-only memory map of a whole file. Tensors point into it and share its ownership.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

namespace slmkit {

class MappedFile {
 public:
  // Throws Error(io) naming the path when the file cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

// Hands back this process's memory for the whole pages of `range` when the range lies inside a
// live MappedFile: the pages leave the resident set and are read from the file again if touched
// later, so every pointer into the file stays valid. Readers that are done with a tensor (the
// quantizer after writing it, the engine after repacking it) call this to keep the peak resident
// set near one tensor instead of the whole file. Returns false, doing nothing, for memory that is
// not a file mapping (owned buffers) or where madvise refuses.
bool release_mapped_pages(std::span<const std::byte> range);

}  // namespace slmkit
