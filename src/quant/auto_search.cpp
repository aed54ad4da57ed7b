// The search for -t auto: a multiple-choice knapsack over (bytes, KLD) per tensor. Bytes are
// counted in units of U bytes with each candidate's padded size rounded up, so a plan the table
// accepts never exceeds the budget; U is chosen so the table has at most kMaxStates columns (the
// rounding then costs at most one unit per tensor, given back by the exact pass that follows).
#include <algorithm>
#include <limits>

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

AutoMixPlan choose_mix(const AutoSensitivity& s, uint64_t target_bytes) {
  check_budget(s, target_bytes);
  const size_t n = s.tensors.size();
  const uint64_t room = target_bytes - s.header_bytes - s.fixed_bytes;  // for quantized data
  const uint64_t unit = std::max<uint64_t>(1, (room + kMaxStates - 1) / kMaxStates);
  const auto states = static_cast<size_t>(room / unit) + 1;
  constexpr double kInf = std::numeric_limits<double>::infinity();

  // best[c]: smallest KLD sum of the tensors so far within c units; pick[i][c]: tensor i's choice.
  std::vector<double> best(states, 0.0), next(states);
  std::vector<std::vector<uint8_t>> pick(n, std::vector<uint8_t>(states, 0));
  for (size_t i = 0; i < n; ++i) {
    const AutoTensor& t = s.tensors[i];
    std::fill(next.begin(), next.end(), kInf);
    for (size_t k = 0; k < t.candidates.size(); ++k) {
      const uint64_t cost = (s.padded(t.candidates[k].bytes) + unit - 1) / unit;
      const double kld = t.candidates[k].kld;
      for (size_t c = cost; c < states; ++c) {
        const double v = best[c - cost] + kld;
        // Strictly smaller: on a tie the earlier (smaller) candidate stays.
        if (v < next[c]) {
          next[c] = v;
          pick[i][c] = static_cast<uint8_t>(k);
        }
      }
    }
    best.swap(next);
  }

  AutoMixPlan plan;
  plan.target_bytes = target_bytes;
  plan.choices.resize(n);
  for (size_t i = 0; i < n; ++i) plan.choices[i].name = s.tensors[i].name;
  if (best[states - 1] < kInf) {
    size_t c = states - 1;
    for (size_t i = n; i-- > 0;) {
      const size_t k = pick[i][c];
      plan.choices[i].chosen = k;
      c -= static_cast<size_t>((s.padded(s.tensors[i].candidates[k].bytes) + unit - 1) / unit);
    }
  }  // else the rounding left no room: every tensor at its smallest (fits, checked above)

  // Exact pass: the best single change that fits the bytes still free, until none does.
  for (;;) {
    const uint64_t used = s.header_bytes + s.fixed_bytes + data_bytes(s, plan.choices);
    const uint64_t slack = target_bytes - used;
    double gain = 0;
    size_t bi = n, bk = 0;
    for (size_t i = 0; i < n; ++i) {
      const AutoTensor& t = s.tensors[i];
      const AutoCandidate& now = t.candidates[plan.choices[i].chosen];
      for (size_t k = 0; k < t.candidates.size(); ++k) {
        const AutoCandidate& c = t.candidates[k];
        if (s.padded(c.bytes) > s.padded(now.bytes) + slack) continue;
        const double g = now.kld - c.kld;
        if (g > gain) gain = g, bi = i, bk = k;
      }
    }
    if (bi == n) break;
    plan.choices[bi].chosen = bk;
  }

  for (size_t i = 0; i < n; ++i)
    plan.sum_kld += s.tensors[i].candidates[plan.choices[i].chosen].kld;
  plan.file_bytes = (has_block_type(s, plan.choices) ? s.header_bytes : s.header_bytes_plain) +
                    s.fixed_bytes + data_bytes(s, plan.choices);
  return plan;
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
  if (measured_kld >= 0) j["measured_kld"] = measured_kld;
  j["calibration"] = {
      {"base_ppl", s.base_ppl}, {"scored_positions", s.n_scored}, {"seconds", s.seconds}};
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const AutoTensor& t = s.tensors[i];
    const AutoCandidate& c = t.candidates[choices[i].chosen];
    nlohmann::ordered_json cands = nlohmann::ordered_json::array();
    for (const AutoCandidate& k : t.candidates) {
      cands.push_back({{"type", k.type}, {"asked", k.asked}, {"bytes", k.bytes}, {"kld", k.kld}});
    }
    list.push_back({{"name", t.name},
                    {"from", t.from},
                    {"shape", t.shape},
                    {"type", c.type},
                    {"bytes", c.bytes},
                    {"kld", c.kld},
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
  out += "\n";
  return out;
}

}  // namespace slmkit
