// Include first, alone, in every file whose float arithmetic must match ggml's reference
// quantizers bit for bit. ggml's quants are compiled for baseline x86-64, so no multiply-add is
// ever fused there; a build of ours with FMA available (-march=native, -mfma) would otherwise let
// the compiler fuse `a * b + c` and change the chosen scales (measured: hundreds of differing
// bytes per 100 KB in Q2_K..Q6_K). Applies to the rest of the translation unit. The build also
// compiles every src/quant/*.cpp with -ffp-contract=off (src/CMakeLists.txt), which covers the
// files without this header (quant.cpp's importance-weighted error) and the targets where GCC
// fuses by default (aarch64, riscv64).
#pragma once

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
