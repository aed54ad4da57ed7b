// Include first, alone, in every file whose float arithmetic must match ggml's reference
// quantizers bit for bit. ggml's quants are compiled for baseline x86-64, so no multiply-add is
// ever fused there; a build of ours with FMA available (-march=native, -mfma) would otherwise let
// the compiler fuse `a * b + c` and change the chosen scales (measured: hundreds of differing
// bytes per 100 KB in Q2_K..Q6_K). Applies to the rest of the translation unit.
#pragma once

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
