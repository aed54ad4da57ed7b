// current_platform(): compiled architecture, kernel instruction set, and emulation.
#include "slmkit/platform.h"

#include <cstdint>
#include <cstdio>

#include "kernels/kernels.h"

namespace slmkit {
namespace {

// The architecture's name and ELF e_machine value (EM_X86_64, EM_AARCH64, EM_RISCV in elf.h).
#if defined(__x86_64__)
constexpr const char* kArch = "x86_64";
constexpr uint16_t kElfMachine = 62;
#elif defined(__aarch64__)
constexpr const char* kArch = "aarch64";
constexpr uint16_t kElfMachine = 183;
#elif defined(__riscv) && __riscv_xlen == 64
constexpr const char* kArch = "riscv64";
constexpr uint16_t kElfMachine = 243;
#else
constexpr const char* kArch = "unknown";
constexpr uint16_t kElfMachine = 0;
#endif

// The e_machine of an ELF file (little-endian files only, as every target above is), 0 when it
// cannot be read.
uint16_t elf_machine(const char* path) {
  std::FILE* f = std::fopen(path, "rb");
  if (!f) return 0;
  unsigned char h[20] = {};
  const size_t n = std::fread(h, 1, sizeof h, f);
  std::fclose(f);
  if (n < sizeof h || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F' || h[5] != 1)
    return 0;
  return static_cast<uint16_t>(h[18] | (h[19] << 8));
}

std::string how_run() {
  static const std::string how = [] {
    const uint16_t host = elf_machine("/bin/sh");
    return host != 0 && kElfMachine != 0 && host != kElfMachine ? "qemu-user" : "native";
  }();
  return how;
}

}  // namespace

Platform current_platform() {
  Platform p;
  p.arch = kArch;
  p.isa = kernels::current_isa();
  p.cpu_isa = kernels::available_isas().back();
  p.how = how_run();
  return p;
}

}  // namespace slmkit
