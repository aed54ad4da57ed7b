// The report (JSON, pass/fail) and the comparisons every functional check shares.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "validate/checks.h"

namespace slmkit {

bool ValidationReport::passed() const {
  return !checks.empty() &&
         std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.passed; });
}

const ValidationCheck* ValidationReport::first_failure() const {
  for (const ValidationCheck& c : checks) {
    if (!c.passed) return &c;
  }
  return nullptr;
}

nlohmann::ordered_json ValidationCheck::to_json() const {
  nlohmann::ordered_json e;
  e["name"] = name;
  e["category"] = category;
  e["passed"] = passed;
  e["value"] = value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
  e["bound"] = bound ? nlohmann::ordered_json(*bound) : nlohmann::ordered_json(nullptr);
  e["comparison"] = comparison;
  e["detail"] = detail;
  return e;
}

nlohmann::ordered_json ValidationReport::to_json() const {
  nlohmann::ordered_json j;
  j["artifact"] = artifact;
  j["format"] = format;
  j["precision"] = precision;
  j["passed"] = passed();
  int failed = 0;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ValidationCheck& c : checks) {
    failed += !c.passed;
    list.push_back(c.to_json());
  }
  j["n_checks"] = checks.size();
  j["n_failed"] = failed;
  j["seconds"] = seconds;
  j["ran_on"] = {
      {"arch", ran_on.arch}, {"isa", ran_on.isa}, {"cpu_isa", ran_on.cpu_isa}, {"how", ran_on.how}};
  j["checks"] = std::move(list);
  return j;
}

ValidationReport ValidationReport::from_json(const nlohmann::ordered_json& j) {
  ValidationReport r;
  try {
    r.artifact = j.at("artifact").get<std::string>();
    r.format = j.at("format").get<std::string>();
    r.precision = j.at("precision").get<std::string>();
    r.seconds = j.at("seconds").get<double>();
    for (const auto& e : j.at("checks")) {
      ValidationCheck c;
      c.name = e.at("name").get<std::string>();
      c.category = e.at("category").get<std::string>();
      c.passed = e.at("passed").get<bool>();
      if (!e.at("value").is_null()) c.value = e.at("value").get<double>();
      if (!e.at("bound").is_null()) c.bound = e.at("bound").get<double>();
      c.comparison = e.at("comparison").get<std::string>();
      c.detail = e.at("detail").get<std::string>();
      r.checks.push_back(std::move(c));
    }
    if (j.contains("ran_on")) {  // absent in reports written before it existed
      const auto& p = j.at("ran_on");
      r.ran_on.arch = p.at("arch").get<std::string>();
      r.ran_on.isa = p.at("isa").get<std::string>();
      r.ran_on.cpu_isa = p.at("cpu_isa").get<std::string>();
      r.ran_on.how = p.at("how").get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("validation report: {}", e.what());
  }
  return r;
}

std::filesystem::path write_validation_report(const ValidationReport& report,
                                              const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::filesystem::path name = std::filesystem::path(report.artifact).filename();
  if (name.empty()) name = std::filesystem::path(report.artifact).parent_path().filename();
  const std::filesystem::path out =
      dir / (name.stem().string() + "_" + report.format + "_validation.json");
  write_file_atomic(out, report.to_json().dump(2) + "\n");
  return out;
}

namespace validation {

bool Checks::expect(const std::string& name, bool passed, std::string detail) {
  ValidationCheck c;
  c.name = name;
  c.category = category_;
  c.passed = passed;
  c.detail = std::move(detail);
  out_.push_back(std::move(c));
  return passed;
}

bool Checks::record(const std::string& name, double value, std::string detail) {
  ValidationCheck c;
  c.name = name;
  c.category = category_;
  c.passed = std::isfinite(value);
  c.value = value;
  c.detail = std::move(detail);
  const bool passed = c.passed;
  out_.push_back(std::move(c));
  return passed;
}

bool Checks::measure(const std::string& name, double value, const char* comparison, double bound,
                     std::string detail) {
  const std::string cmp = comparison;
  const bool ok = cmp == "<=" ? value <= bound : cmp == ">=" ? value >= bound : value == bound;
  ValidationCheck c;
  c.name = name;
  c.category = category_;
  c.passed = ok && std::isfinite(value);
  c.value = value;
  c.bound = bound;
  c.comparison = cmp;
  c.detail = std::move(detail);
  const bool passed = c.passed;
  out_.push_back(std::move(c));
  return passed;
}

namespace {

std::vector<int32_t> top5(const float* row, int64_t vocab) {
  std::vector<int32_t> idx(static_cast<size_t>(vocab));
  std::iota(idx.begin(), idx.end(), 0);
  const auto k = static_cast<ptrdiff_t>(std::min<int64_t>(5, vocab));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return row[a] > row[b]; });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

}  // namespace

LogitStats compare_logits(const std::vector<float>& reference, const std::vector<float>& other,
                          int64_t vocab) {
  LogitStats s;
  if (vocab <= 0 || reference.size() != other.size() || reference.empty()) return s;
  s.positions = static_cast<int64_t>(reference.size()) / vocab;
  const auto [lo, hi] = std::minmax_element(reference.begin(), reference.end());
  s.reference_range = static_cast<double>(*hi) - static_cast<double>(*lo);
  for (size_t i = 0; i < reference.size(); ++i) {
    const double d = std::fabs(static_cast<double>(reference[i]) - other[i]);
    // NaN in the artifact's logits must fail, not vanish in max().
    s.max_abs_diff = std::isnan(d) ? INFINITY : std::max(s.max_abs_diff, d);
  }
  double overlap = 0;
  for (int64_t t = 0; t < s.positions; ++t) {
    const auto a = top5(reference.data() + t * vocab, vocab);
    const auto b = top5(other.data() + t * vocab, vocab);
    int common = 0;
    for (int32_t x : a) common += std::find(b.begin(), b.end(), x) != b.end();
    overlap += static_cast<double>(common) / static_cast<double>(a.size());
  }
  s.top5_overlap = overlap / static_cast<double>(s.positions);
  return s;
}

int64_t leading_matches(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  int64_t n = 0;
  while (n < static_cast<int64_t>(std::min(a.size(), b.size())) &&
         a[static_cast<size_t>(n)] == b[static_cast<size_t>(n)])
    ++n;
  return n;
}

void record_functional(const FunctionalResult& r, const PrecisionBounds& b,
                       const ValidateOptions& options, const std::string& suffix, Checks& checks) {
  const LogitStats s = compare_logits(r.reference_logits, r.artifact_logits, r.vocab);
  const double tol = options.logits_tolerance ? *options.logits_tolerance : b.logits_rel;
  if (s.positions == 0) {
    checks.expect("logits.compared" + suffix, false,
                  fmt::format("logit arrays differ in size: reference {}, artifact {} (vocab {})",
                              r.reference_logits.size(), r.artifact_logits.size(), r.vocab));
  } else {
    const double rel = s.reference_range > 0 ? s.max_abs_diff / s.reference_range : s.max_abs_diff;
    checks.measure("logits.max_abs_diff_rel" + suffix, rel, "<=", tol,
                   fmt::format("max |diff| {:.4g} over {} positions x {} logits, reference ({}) "
                               "logit range {:.4g}; bound for {}",
                               s.max_abs_diff, s.positions, r.vocab, r.reference_name,
                               s.reference_range, b.precision));
    checks.measure("logits.top5_overlap" + suffix, s.top5_overlap, ">=", b.top5_overlap,
                   fmt::format("mean share of the reference's top-5 in the artifact's, over {} "
                               "positions",
                               s.positions));
  }
  const int64_t n = static_cast<int64_t>(r.reference_greedy.size());
  const int64_t same = leading_matches(r.reference_greedy, r.artifact_greedy);
  const double floor = std::ceil(b.greedy_share * static_cast<double>(n));
  checks.measure("greedy.leading_tokens_agree" + suffix, static_cast<double>(same), ">=", floor,
                 fmt::format("first {} of {} greedy tokens equal the reference's (floor {:.0f}% "
                             "for {})",
                             same, n, 100 * b.greedy_share, b.precision));
  checks.measure("tokens_per_second" + suffix, r.tokens_per_second,
                 ">=", options.min_tokens_per_second, "single-token decode passes");
}

}  // namespace validation
}  // namespace slmkit
