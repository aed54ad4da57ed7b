// The search for -t auto: a multiple-choice knapsack over (bytes, KLD) per tensor. Bytes are
// counted in units of U bytes with each candidate's padded size rounded up, so a plan the table
// accepts never exceeds the budget; U is chosen so the table has at most kMaxStates columns (the
// rounding then costs at most one unit per tensor, given back by the exact pass that follows).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/fail.h"
#include "slmkit/quantize_auto.h"

namespace slmkit {
namespace {

constexpr uint64_t kMaxStates = 1u << 16;

bool has_block_type(const AutoSensitivity& s, const std::vector<AutoChoice>& choices) {
  for (size_t i = 0; i < choices.size(); ++i) {
    const std::optional<DType> t = dtype_from_name(s.tensors[i].candidates[choices[i].chosen].type);
    if (t && traits(*t).block_size > 1) return true;
  }
  return false;
}

uint64_t data_bytes(const AutoSensitivity& s, const std::vector<AutoChoice>& choices) {
  uint64_t n = 0;
  for (size_t i = 0; i < choices.size(); ++i)
    n += s.padded(s.tensors[i].candidates[choices[i].chosen].bytes);
  return n;
}

}  // namespace

std::map<std::string, std::string> AutoMixPlan::tensor_types(const AutoSensitivity& s) const {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < choices.size(); ++i)
    out[choices[i].name] = s.tensors[i].candidates[choices[i].chosen].type;
  return out;
}

void check_budget(const AutoSensitivity& s, uint64_t target_bytes) {
  const uint64_t min_bytes = s.min_file_bytes();
  if (target_bytes < min_bytes) {
    fail_invalid(
        "quantize -t auto: a budget of {} bytes cannot be met; the smallest reachable file is {} "
        "bytes (every tensor at its smallest candidate type)",
        target_bytes, min_bytes);
  }
}

namespace {

// The knapsack over bytes with each candidate valued a * kld + b * decode_seconds; ties keep the
// earlier (smaller) candidate. Returns each tensor's choice.
std::vector<size_t> knapsack(const AutoSensitivity& s, uint64_t target_bytes, double a, double b) {
  const size_t n = s.tensors.size();
  const uint64_t room = target_bytes - s.header_bytes - s.fixed_bytes;  // for quantized data
  const uint64_t unit = std::max<uint64_t>(1, (room + kMaxStates - 1) / kMaxStates);
  const auto states = static_cast<size_t>(room / unit) + 1;
  constexpr double kInf = std::numeric_limits<double>::infinity();

  // best[c]: smallest value sum of the tensors so far within c units; pick[i][c]: tensor i's
  // choice.
  std::vector<double> best(states, 0.0), next(states);
  std::vector<std::vector<uint8_t>> pick(n, std::vector<uint8_t>(states, 0));
  for (size_t i = 0; i < n; ++i) {
    const AutoTensor& t = s.tensors[i];
    std::fill(next.begin(), next.end(), kInf);
    for (size_t k = 0; k < t.candidates.size(); ++k) {
      const uint64_t cost = (s.padded(t.candidates[k].bytes) + unit - 1) / unit;
      const double v0 = a * t.candidates[k].kld + b * t.candidates[k].decode_seconds;
      for (size_t c = cost; c < states; ++c) {
        const double v = best[c - cost] + v0;
        if (v < next[c]) {
          next[c] = v;
          pick[i][c] = static_cast<uint8_t>(k);
        }
      }
    }
    best.swap(next);
  }
  std::vector<size_t> chosen(n, 0);
  if (best[states - 1] < kInf) {
    size_t c = states - 1;
    for (size_t i = n; i-- > 0;) {
      const size_t k = pick[i][c];
      chosen[i] = k;
      c -= static_cast<size_t>((s.padded(s.tensors[i].candidates[k].bytes) + unit - 1) / unit);
    }
  }  // else the rounding left no room: every tensor at its smallest (fits, checked before)
  return chosen;
}

uint64_t data_bytes_of(const AutoSensitivity& s, const std::vector<size_t>& chosen) {
  uint64_t n = 0;
  for (size_t i = 0; i < chosen.size(); ++i)
    n += s.padded(s.tensors[i].candidates[chosen[i]].bytes);
  return n;
}

}  // namespace

double predicted_decode_seconds(const AutoSensitivity& s, const std::vector<size_t>& chosen) {
  double t = std::max(0.0, s.decode_overhead_seconds);
  for (size_t i = 0; i < chosen.size(); ++i) t += s.tensors[i].candidates[chosen[i]].decode_seconds;
  return t;
}

namespace {

// The plan of these choices, with its summed KLD, exact file size and (with costs) predicted time.
AutoMixPlan plan_of(const AutoSensitivity& s, const std::vector<size_t>& chosen) {
  AutoMixPlan plan;
  plan.choices.resize(chosen.size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    plan.choices[i].name = s.tensors[i].name;
    plan.choices[i].chosen = chosen[i];
    plan.sum_kld += s.tensors[i].candidates[chosen[i]].kld;
  }
  if (s.decode_overhead_seconds >= 0) plan.decode_seconds = predicted_decode_seconds(s, chosen);
  plan.file_bytes = (has_block_type(s, plan.choices) ? s.header_bytes : s.header_bytes_plain) +
                    s.fixed_bytes + data_bytes(s, plan.choices);
  return plan;
}

}  // namespace

AutoMixPlan choose_mix(const AutoSensitivity& s, uint64_t target_bytes, double max_seconds) {
  check_budget(s, target_bytes);
  const size_t n = s.tensors.size();
  const bool timed = max_seconds > 0;
  if (timed && s.decode_overhead_seconds < 0) {
    fail_invalid("quantize -t auto: a decode-speed budget needs measured kernel costs");
  }
  auto fast_enough = [&](const std::vector<size_t>& c) {
    return !timed || predicted_decode_seconds(s, c) <= max_seconds;
  };

  std::vector<size_t> chosen = knapsack(s, target_bytes, 1.0, 0.0);
  if (!fast_enough(chosen)) {
    // The fastest plan within the bytes (KLD only breaks ties) bounds what any price can reach.
    const std::vector<size_t> fastest = knapsack(s, target_bytes, 1e-9, 1.0);
    if (!fast_enough(fastest)) {
      const double t = predicted_decode_seconds(s, fastest);
      fail_invalid(
          "quantize -t auto: a decode budget of {:.1f} tokens/s cannot be met within {} bytes; "
          "the fastest reachable plan decodes at {:.1f} tokens/s ({:.3f} ms per token predicted "
          "from the measured kernel costs)",
          1.0 / max_seconds, target_bytes, 1.0 / t, t * 1e3);
    }
    // Price of a second in KLD: the smallest one (bisected in log scale) that makes the plan
    // fast enough; prices grow from the KLD-per-second scale of the candidates.
    double lo = 0, hi = 1;
    std::vector<size_t> best = fastest;
    for (int i = 0; i < 80; ++i, hi *= 4) {
      std::vector<size_t> c = knapsack(s, target_bytes, 1.0, hi);
      if (fast_enough(c)) {
        best = std::move(c);
        break;
      }
      lo = hi;
    }
    for (int i = 0; i < 30 && hi > lo * (1 + 1e-6); ++i) {
      const double mid = lo > 0 ? std::sqrt(lo * hi) : hi / 2;
      std::vector<size_t> c = knapsack(s, target_bytes, 1.0, mid);
      if (fast_enough(c)) {
        hi = mid;
        best = std::move(c);
      } else {
        lo = mid;
      }
    }
    chosen = std::move(best);
  }

  // Exact pass: the best single change that fits the bytes (and time) still free, until none does.
  for (;;) {
    const uint64_t used = s.header_bytes + s.fixed_bytes + data_bytes_of(s, chosen);
    const uint64_t slack = target_bytes - used;
    const double time_now = predicted_decode_seconds(s, chosen);
    double gain = 0;
    size_t bi = n, bk = 0;
    for (size_t i = 0; i < n; ++i) {
      const AutoTensor& t = s.tensors[i];
      const AutoCandidate& now = t.candidates[chosen[i]];
      for (size_t k = 0; k < t.candidates.size(); ++k) {
        const AutoCandidate& c = t.candidates[k];
        if (s.padded(c.bytes) > s.padded(now.bytes) + slack) continue;
        if (timed && time_now - now.decode_seconds + c.decode_seconds > max_seconds) continue;
        const double g = now.kld - c.kld;
        if (g > gain) gain = g, bi = i, bk = k;
      }
    }
    if (bi == n) break;
    chosen[bi] = bk;
  }

  AutoMixPlan plan = plan_of(s, chosen);
  plan.target_bytes = target_bytes;
  plan.max_decode_seconds = timed ? max_seconds : 0;
  return plan;
}

AutoMixPlan fastest_mix(const AutoSensitivity& s, uint64_t target_bytes) {
  check_budget(s, target_bytes);
  if (s.decode_overhead_seconds < 0) {
    fail_invalid("quantize -t auto: a decode-speed budget needs measured kernel costs");
  }
  AutoMixPlan plan = plan_of(s, knapsack(s, target_bytes, 1e-9, 1.0));
  plan.target_bytes = target_bytes;
  return plan;
}

AutoMixPlan choose_mix_against(const AutoSensitivity& s, uint64_t target_bytes,
                               const AutoMixPlan& reference) {
  AutoMixPlan plan;
  try {
    plan = choose_mix(s, target_bytes, reference.decode_seconds);
  } catch (const Error&) {
    return choose_mix(s, target_bytes);  // nothing within the bytes is predicted that fast
  }
  // The Lagrangian search can leave a gap; the reference itself is a plan within both budgets.
  if (reference.file_bytes <= target_bytes && reference.sum_kld < plan.sum_kld) {
    plan = reference;
    plan.target_bytes = target_bytes;
    plan.max_decode_seconds = reference.decode_seconds;
  }
  return plan;
}

std::optional<AutoMixPlan> plan_of_types(const AutoSensitivity& s,
                                         const std::map<std::string, std::string>& types) {
  std::vector<size_t> chosen;
  for (const AutoTensor& t : s.tensors) {
    const auto it = types.find(t.name);
    if (it == types.end()) return std::nullopt;
    const auto c = std::find_if(t.candidates.begin(), t.candidates.end(),
                                [&](const AutoCandidate& k) { return k.type == it->second; });
    if (c == t.candidates.end()) return std::nullopt;
    chosen.push_back(static_cast<size_t>(c - t.candidates.begin()));
  }
  return plan_of(s, chosen);
}

std::optional<AutoMixPlan> plan_of_types(const AutoSensitivity& s, const Model& reference) {
  std::map<std::string, std::string> types;
  for (const Tensor& t : reference.tensors()) types[t.name()] = std::string(dtype_name(t.dtype()));
  return plan_of_types(s, types);
}

// HAQ's hardware in the loop: the search's prediction (per-product costs plus a fixed step cost)
// is checked against the chosen mix's own timed decode step; where it misses the budget, the
// search runs again under a budget tightened by the measured ratio.
AutoMixPlan meet_measured_speed(const AutoSensitivity& s, AutoMixPlan plan, uint64_t target,
                                double max_seconds,
                                const std::function<double(const AutoMixPlan&)>& time_plan) {
  AutoMixPlan fastest;
  double search_budget = 0;
  for (int round = 1; round <= 4; ++round) {
    plan.speed_rounds = round;
    plan.measured_decode_seconds = time_plan(plan);
    if (plan.measured_decode_seconds <= max_seconds) return plan;
    if (fastest.choices.empty() || plan.measured_decode_seconds < fastest.measured_decode_seconds) {
      fastest = plan;
    }
    if (round == 4) break;
    // The plan predicted at p ran at m > max: a plan predicted below p * max / m is what the same
    // misprediction would bring within the budget (and always another plan, faster than this).
    search_budget = plan.decode_seconds * (max_seconds / plan.measured_decode_seconds);
    try {
      plan = choose_mix(s, target, search_budget);
    } catch (const Error&) {
      break;  // no plan is predicted that fast: the fastest measured one stands
    }
    plan.max_decode_seconds = max_seconds;
  }
  return fastest;
}

bool AutoMixPlan::measured_within_budget() const {
  if (measured_decode_seconds <= 0 || max_decode_seconds <= 0) return true;
  if (reference_decode_seconds > 0) return measured_decode_seconds <= reference_decode_seconds;
  return measured_decode_seconds <= max_decode_seconds;
}

nlohmann::ordered_json AutoMixPlan::to_json(const AutoSensitivity& s) const {
  nlohmann::ordered_json j;
  j["target_bytes"] = target_bytes;
  j["file_bytes"] = file_bytes;
  j["header_bytes"] = s.header_bytes;
  j["fixed_bytes"] = s.fixed_bytes;
  j["min_file_bytes"] = s.min_file_bytes();
  j["max_file_bytes"] = s.max_file_bytes();
  j["bits_per_weight"] = s.n_elements ? 8.0 * static_cast<double>(file_bytes - s.header_bytes) /
                                            static_cast<double>(s.n_elements)
                                      : 0.0;
  j["sum_kld"] = sum_kld;
  // Whether the candidates were quantized (and measured) with importance weights.
  j["imatrix"] = s.imatrix != nullptr;
  if (max_decode_seconds > 0) j["min_decode_tps"] = 1.0 / max_decode_seconds;
  if (decode_seconds > 0) {
    j["predicted_decode_seconds"] = decode_seconds;
    j["predicted_decode_tps"] = 1.0 / decode_seconds;
    j["decode_overhead_seconds"] = s.decode_overhead_seconds;
  }
  if (measured_decode_seconds > 0) {
    j["measured_decode_seconds"] = measured_decode_seconds;
    j["measured_decode_tps"] = 1.0 / measured_decode_seconds;
    j["speed_search_round"] = speed_rounds;
    j["measured_within_budget"] = measured_within_budget();
  }
  if (reference_decode_seconds > 0) j["reference_decode_tps"] = 1.0 / reference_decode_seconds;
  if (reference_sum_kld >= 0) {
    j["reference_sum_kld"] = reference_sum_kld;
    j["reference_predicted_decode_tps"] = 1.0 / reference_predicted_seconds;
  }
  if (measured_kld >= 0) j["measured_kld"] = measured_kld;
  j["calibration"] = {
      {"base_ppl", s.base_ppl}, {"scored_positions", s.n_scored}, {"seconds", s.seconds}};
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const AutoTensor& t = s.tensors[i];
    const AutoCandidate& c = t.candidates[choices[i].chosen];
    nlohmann::ordered_json cands = nlohmann::ordered_json::array();
    for (const AutoCandidate& k : t.candidates) {
      cands.push_back({{"type", k.type},
                       {"asked", k.asked},
                       {"bytes", k.bytes},
                       {"kld", k.kld},
                       {"decode_seconds", k.decode_seconds},
                       {"prefill_seconds", k.prefill_seconds}});
    }
    list.push_back({{"name", t.name},
                    {"from", t.from},
                    {"shape", t.shape},
                    {"type", c.type},
                    {"bytes", c.bytes},
                    {"kld", c.kld},
                    {"decode_seconds", c.decode_seconds},
                    {"prefill_seconds", c.prefill_seconds},
                    {"candidates", std::move(cands)}});
  }
  j["tensors"] = std::move(list);
  return j;
}

std::string AutoMixPlan::to_text(const AutoSensitivity& s) const {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    const AutoTensor& t = s.tensors[i];
    const AutoCandidate& c = t.candidates[choices[i].chosen];
    out += fmt::format("{:<28} {:<6} {:>10} bytes  KLD {:.6f}  (", t.name, c.type, c.bytes, c.kld);
    for (size_t k = 0; k < t.candidates.size(); ++k) {
      out += fmt::format("{}{} {:.2e}", k ? ", " : "", t.candidates[k].type, t.candidates[k].kld);
    }
    out += ")\n";
  }
  out += fmt::format("file {} bytes (budget {}; smallest {}, largest {}); summed KLD {:.6f}",
                     file_bytes, target_bytes, s.min_file_bytes(), s.max_file_bytes(), sum_kld);
  if (measured_kld >= 0) out += fmt::format(", measured whole-mix KLD {:.6f}", measured_kld);
  if (decode_seconds > 0) {
    out += fmt::format("; predicted decode {:.1f} tokens/s", 1.0 / decode_seconds);
    if (max_decode_seconds > 0) out += fmt::format(" (at least {:.1f})", 1.0 / max_decode_seconds);
  }
  if (measured_decode_seconds > 0) {
    out += fmt::format(", measured {:.1f} tokens/s (search {}{})", 1.0 / measured_decode_seconds,
                       speed_rounds,
                       measured_within_budget() ? "" : ", the fastest timed: none met the budget");
  }
  if (reference_decode_seconds > 0) {
    out += fmt::format(" against the reference's {:.1f} at the same moment",
                       1.0 / reference_decode_seconds);
  }
  if (reference_sum_kld >= 0) {
    out += fmt::format(" (the reference as a plan: summed KLD {:.6f}, predicted {:.1f} tokens/s)",
                       reference_sum_kld, 1.0 / reference_predicted_seconds);
  }
  out += "\n";
  return out;
}

}  // namespace slmkit
