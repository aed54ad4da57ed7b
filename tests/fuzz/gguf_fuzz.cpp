// libFuzzer target for the GGUF reader: whatever the bytes, parse() either returns a File whose
// every tensor can be viewed and read, or throws slmkit::Error. A File that parses must also be
// written back into bytes that parse again and rewrite to themselves.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "slmkit/error.h"

namespace {

void check_rewrite(const slmkit::gguf::File& file) {
  using namespace slmkit::gguf;
  const std::vector<std::byte> out = writer_from(file).to_bytes();
  // The rewrite drops bytes after the last tensor and may add its missing final padding.
  if (out.size() >= file.bytes.size() + file.alignment) std::abort();
  const File again = parse(out, "rewrite.gguf", nullptr);  // an Error here escapes: a real bug
  if (writer_from(again).to_bytes() != out) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  slmkit::gguf::File file;
  try {
    file = slmkit::gguf::parse(bytes, "fuzz.gguf", nullptr);
  } catch (const slmkit::Error&) {
    return 0;
  }
  try {
    (void)slmkit::gguf::read_vocab(file);
  } catch (const slmkit::Error&) {
  }
  unsigned sum = 0;
  for (const auto& info : file.tensors) {
    const slmkit::Tensor t = file.tensor(info);  // must not throw for a parsed file
    for (std::byte b : t.bytes()) sum += std::to_integer<unsigned>(b);
  }
  static volatile unsigned sink;
  sink = sum;
  check_rewrite(file);
  return 0;
}
