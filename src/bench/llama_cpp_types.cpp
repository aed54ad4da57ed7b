// Plain data of the llama.cpp peer that needs no library: quantization type names and the
// llama-bench statistics over timing samples.
#include <array>
#include <cmath>
#include <numeric>

#include "bench/llama_cpp_peer.h"

#if SLMKIT_HAVE_LLAMA_CPP
#include <llama.h>
#endif

namespace slmkit::bench {
namespace {

struct FtypeName {
  std::string_view name;
  int32_t ftype;
};

// llama-quantize's names (tools/quantize/quantize.cpp); the first row of a number is its name.
constexpr std::array<FtypeName, 40> kFtypes{{
    {"F32", 0},      {"F16", 1},      {"Q4_0", 2},       {"Q4_1", 3},    {"Q8_0", 7},
    {"Q5_0", 8},     {"Q5_1", 9},     {"Q2_K", 10},      {"Q3_K_S", 11}, {"Q3_K_M", 12},
    {"Q3_K_L", 13},  {"Q4_K_S", 14},  {"Q4_K_M", 15},    {"Q5_K_S", 16}, {"Q5_K_M", 17},
    {"Q6_K", 18},    {"IQ2_XXS", 19}, {"IQ2_XS", 20},    {"Q2_K_S", 21}, {"IQ3_XS", 22},
    {"IQ3_XXS", 23}, {"IQ1_S", 24},   {"IQ4_NL", 25},    {"IQ3_S", 26},  {"IQ3_M", 27},
    {"IQ2_S", 28},   {"IQ2_M", 29},   {"IQ4_XS", 30},    {"IQ1_M", 31},  {"BF16", 32},
    {"TQ1_0", 36},   {"TQ2_0", 37},   {"MXFP4_MOE", 38}, {"NVFP4", 39},  {"Q1_0", 40},
    {"Q2_0", 41},    {"Q3_K", 12},    {"Q4_K", 15},      {"Q5_K", 17},   {"COPY", 0},
}};

#if SLMKIT_HAVE_LLAMA_CPP
static_assert(LLAMA_FTYPE_MOSTLY_Q8_0 == 7 && LLAMA_FTYPE_MOSTLY_Q4_K_M == 15 &&
              LLAMA_FTYPE_MOSTLY_Q6_K == 18 && LLAMA_FTYPE_MOSTLY_BF16 == 32 &&
              LLAMA_FTYPE_MOSTLY_Q2_0 == 41);
#endif

std::vector<double> tokens_per_s(const LlamaCppTiming& t) {
  std::vector<double> out;
  out.reserve(t.samples_ns.size());
  for (uint64_t ns : t.samples_ns) {
    out.push_back(ns == 0 ? 0.0 : 1e9 * t.n_tokens / static_cast<double>(ns));
  }
  return out;
}

}  // namespace

std::optional<int32_t> llama_cpp_ftype_from_name(std::string_view name) {
  for (const FtypeName& f : kFtypes) {
    if (f.name == name) return f.ftype;
  }
  return std::nullopt;
}

std::string_view llama_cpp_ftype_name(int32_t ftype) {
  for (const FtypeName& f : kFtypes) {
    if (f.ftype == ftype) return f.name;
  }
  return {};
}

double LlamaCppTiming::mean_tokens_per_s() const {
  const std::vector<double> ts = tokens_per_s(*this);
  if (ts.empty()) return 0.0;
  return std::accumulate(ts.begin(), ts.end(), 0.0) / static_cast<double>(ts.size());
}

double LlamaCppTiming::stdev_tokens_per_s() const {
  const std::vector<double> ts = tokens_per_s(*this);
  if (ts.size() < 2) return 0.0;
  const double mean = mean_tokens_per_s();
  double sum_sq = 0.0;
  for (double v : ts) sum_sq += (v - mean) * (v - mean);
  return std::sqrt(sum_sq / static_cast<double>(ts.size() - 1));
}

}  // namespace slmkit::bench
