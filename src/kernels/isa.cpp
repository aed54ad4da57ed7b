// Which instruction set the kernels use: Highway's runtime choice unless SLMKIT_ISA or set_isa()
// forces one. A process-wide setting by nature (Highway's own dispatch state is process-wide).
#include "kernels/isa.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>

#include "core/fail.h"

#include "kernels/hwy_config.h"  // must precede Highway

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace slmkit::kernels {
namespace {

std::atomic<bool> g_scalar{false};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct IsaState {
  std::vector<std::string> names;  // "scalar", then Highway targets, best last
  std::vector<int64_t> targets;    // parallel to names; 0 for "scalar"
  std::string current;
  std::mutex mutex;

  IsaState() {
    names.push_back("scalar");
    targets.push_back(0);
    // SupportedAndGeneratedTargets lists best first; we list best last.
    std::vector<int64_t> hwy_targets = hwy::SupportedAndGeneratedTargets();
    std::reverse(hwy_targets.begin(), hwy_targets.end());
    for (int64_t t : hwy_targets) {
      // Highway's one-lane fallback is also called "scalar"; ours is the plain references.
      names.push_back(t == HWY_SCALAR ? "hwy_scalar" : lower(hwy::TargetName(t)));
      targets.push_back(t);
    }
    current = names.back();
    if (const char* env = std::getenv("SLMKIT_ISA"); env && *env) apply(env);
  }

  void apply(std::string_view requested) {
    const std::string name = lower(requested);
    if (name == "auto" || name == "best") {
      hwy::SetSupportedTargetsForTest(0);
      g_scalar.store(false);
      current = names.back();
      return;
    }
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string choices = "auto";
      for (const std::string& n : names) choices += ", " + n;
      fail_invalid(
          "SLMKIT_ISA / set_isa: unknown or unavailable instruction set '{}' (this build "
          "and CPU offer: {})",
          requested, choices);
    }
    const int64_t target = targets[static_cast<size_t>(it - names.begin())];
    if (target == 0) {
      g_scalar.store(true);
    } else {
      hwy::SetSupportedTargetsForTest(target);
      g_scalar.store(false);
    }
    current = name;
  }
};

IsaState& state() {
  static IsaState s;
  return s;
}

}  // namespace

bool use_scalar() {
  static const bool initialized = (state(), true);
  (void)initialized;
  return g_scalar.load(std::memory_order_relaxed);
}

std::vector<std::string> available_isas() {
  return state().names;
}

void set_isa(std::string_view name) {
  IsaState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.apply(name);
}

std::string current_isa() {
  IsaState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.current;
}

}  // namespace slmkit::kernels
