// The supported families; adding one means one new file and one line in registry.cpp.
#pragma once

#include "arch/arch.h"

namespace slmkit::arch {
const Arch& gpt2_arch();
const Arch& llama_arch();
const Arch& gemma3_arch();
const Arch& qwen2_arch();
}  // namespace slmkit::arch
