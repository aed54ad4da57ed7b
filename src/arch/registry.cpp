#include <array>

#include "arch/arch.h"
#include "arch/families.h"

namespace slmkit::arch {
namespace {
const std::array<const Arch*, 4>& registry() {
  static const std::array<const Arch*, 4> archs = {&gpt2_arch(), &llama_arch(), &gemma3_arch(),
                                                   &qwen2_arch()};
  return archs;
}
}  // namespace

const Arch* find(std::string_view name) {
  for (const Arch* a : registry()) {
    if (a->name == name) return a;
  }
  return nullptr;
}

const Arch* find_by_hf_model_type(std::string_view model_type) {
  for (const Arch* a : registry()) {
    for (std::string_view t : a->hf_model_types) {
      if (t == model_type) return a;
    }
  }
  return nullptr;
}

std::span<const Arch* const> all() {
  return registry();
}

std::string supported_names() {
  std::string s;
  for (const Arch* a : registry()) {
    if (!s.empty()) s += ", ";
    s += a->name;
  }
  return s;
}

}  // namespace slmkit::arch
