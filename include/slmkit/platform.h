// Where this process runs: the CPU architecture this slmkit was built for, the instruction set
// its kernels use, the best one the CPU offers, and whether it runs natively or under a user-mode
// emulator. Validation reports record it (ran_on) and manifests list it (verified_on), so a claim
// about an architecture names the run that backs it.
#pragma once

#include <string>

namespace slmkit {

struct Platform {
  std::string arch;     // "x86_64", "aarch64", "riscv64", ... (compiled for)
  std::string isa;      // the kernels' instruction set now: "avx3_dl", "avx2", "neon", "emu128",
                        // "scalar", ... (SLMKIT_ISA forces one)
  std::string cpu_isa;  // the best instruction set this build and CPU offer (SLMKIT_ISA=auto)
  std::string how;      // "native", or "qemu-user" when the host runs another architecture
};

// "qemu-user" is inferred from the host's /bin/sh being built for another architecture than this
// program (qemu-user passes the host's file system through); a foreign root file system under
// binfmt emulation reads as "native".
Platform current_platform();

}  // namespace slmkit
