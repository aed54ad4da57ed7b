// libFuzzer target for the safetensors reader: whatever the bytes, parse() either returns a File
// whose every tensor can be viewed and read, or throws slmkit::Error. A File that parses is
// written back (in data order, gaps dropped) into bytes that parse to the same tensors and
// rewrite to themselves.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "formats/safetensors.h"
#include "slmkit/error.h"

namespace {

using slmkit::safetensors::File;

std::vector<std::pair<std::string, slmkit::Tensor>> tensors_of(const File& file) {
  std::vector<std::pair<std::string, slmkit::Tensor>> out;
  for (const auto& e : file.entries) out.emplace_back(e.name, file.tensor(e));
  return out;
}

void check_rewrite(const File& file) {
  const auto tensors = tensors_of(file);
  const std::vector<std::byte> out = slmkit::safetensors::to_bytes(tensors, file.metadata);
  const File again = slmkit::safetensors::parse(out, "rewrite.safetensors", nullptr);
  if (again.entries.size() != file.entries.size() || again.metadata != file.metadata) std::abort();
  for (size_t i = 0; i < again.entries.size(); ++i) {
    const auto& a = file.entries[i];
    const auto& b = again.entries[i];
    if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape) std::abort();
    const auto x = file.tensor(a).bytes();
    const auto y = again.tensor(b).bytes();
    if (x.size() != y.size() || (!x.empty() && std::memcmp(x.data(), y.data(), x.size()) != 0)) {
      std::abort();
    }
  }
  if (slmkit::safetensors::to_bytes(tensors_of(again), again.metadata) != out) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  File file;
  try {
    file = slmkit::safetensors::parse(bytes, "fuzz.safetensors", nullptr);
  } catch (const slmkit::Error&) {
    return 0;
  }
  unsigned sum = 0;
  for (const auto& e : file.entries) {
    const slmkit::Tensor t = file.tensor(e);  // must not throw for a parsed file
    for (std::byte b : t.bytes()) sum += std::to_integer<unsigned>(b);
  }
  static volatile unsigned sink;
  sink = sum;
  check_rewrite(file);
  return 0;
}
