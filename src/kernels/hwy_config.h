// Included by every Highway kernel file before Highway itself, so that all of them are compiled
// for the same set of targets: the portable fallback (EMU128, or HWY_SCALAR where Highway judges
// the compiler's EMU128 broken), SSE4, AVX2 and AVX-512 on x86. SSSE3 adds nothing SSE4 lacks
// that we use; scalable-vector targets are excluded because kernels keep small arrays of vectors
// (tiles of accumulators), which sizeless SVE/RVV types forbid.
//
// AVX3_DL (AVX-512 with VNNI, VBMI2, ... : Ice Lake, Zen 4) is opted into: the quantized kernels
// use its 8-bit dot product instruction (vpdpbusd).
#pragma once

#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128 | HWY_RVV)
#endif
