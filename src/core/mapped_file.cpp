#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>

#include "core/fail.h"

namespace slmkit {
namespace {

// The live mappings (start -> size): release_mapped_pages acts only inside one of them, since
// MADV_DONTNEED on anonymous memory would zero it.
// Never destroyed: a MappedFile held by a static (a test's cached Model) is destroyed after
// function-local statics are, and its destructor still erases itself here.
std::mutex& mappings_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::map<const std::byte*, size_t>& mappings() {
  static auto* m = new std::map<const std::byte*, size_t>;
  return *m;
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_io("{}: cannot open: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail_io("{}: cannot stat: {}", path.string(), std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_io("{}: not a regular file", path.string());
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      fail_io("{}: cannot mmap {} bytes: {}", path.string(), file->size_, std::strerror(err));
    }
    file->data_ = static_cast<const std::byte*>(p);
    file->mapped_ = true;
    const std::lock_guard lock(mappings_mutex());
    mappings()[file->data_] = file->size_;
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (!mapped_) return;
  {
    const std::lock_guard lock(mappings_mutex());
    mappings().erase(data_);
  }
  ::munmap(const_cast<std::byte*>(data_), size_);
}

bool release_mapped_pages(std::span<const std::byte> range) {
  if (range.empty()) return false;
  const auto begin = reinterpret_cast<uintptr_t>(range.data());
  const uintptr_t end = begin + range.size();
  // Only the pages wholly inside the range: a neighbour's bytes share the edge pages.
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = end / page * page;
  if (last <= first) return false;
  // Held through madvise: the destructor unmaps under the same lock, so the range cannot become
  // someone else's memory in between.
  const std::lock_guard lock(mappings_mutex());
  const auto& m = mappings();
  auto it = m.upper_bound(range.data());
  if (it == m.begin()) return false;
  --it;
  const auto map_begin = reinterpret_cast<uintptr_t>(it->first);
  if (begin < map_begin || end > map_begin + it->second) return false;
  // The mapping is PROT_READ, so it holds no private copies of pages: dropping them loses nothing.
  return ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) == 0;
}

}  // namespace slmkit
