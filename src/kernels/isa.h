// Internal to the kernels: whether the scalar references are forced (SLMKIT_ISA=scalar). Highway
// targets are forced through Highway's own dispatch state, so the SIMD entry points only need to
// ask this one question before dispatching.
#pragma once

#include "kernels/kernels.h"

namespace slmkit::kernels {

bool use_scalar();  // reads SLMKIT_ISA on first use

}  // namespace slmkit::kernels
