// Plain data of the llama.cpp peer that needs no library: the llama-bench statistics over timing
// samples, and our llama_ftype numbers checked against the llama.h we compile with.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "peers/llama_cpp_peer.h"
#include "quant/llama_ftype.h"

#if SLMKIT_HAVE_LLAMA_CPP
#include <llama.h>
#endif

namespace slmkit::peers {
namespace {

#if SLMKIT_HAVE_LLAMA_CPP
// Our llama_ftype numbers (quant/llama_ftype.h) against the header of the release we load.
using quant::LlamaFtype;
constexpr std::pair<LlamaFtype, int> kSameFtype[] = {
    {LlamaFtype::F32, LLAMA_FTYPE_ALL_F32},
    {LlamaFtype::F16, LLAMA_FTYPE_MOSTLY_F16},
    {LlamaFtype::Q4_0, LLAMA_FTYPE_MOSTLY_Q4_0},
    {LlamaFtype::Q4_1, LLAMA_FTYPE_MOSTLY_Q4_1},
    {LlamaFtype::Q8_0, LLAMA_FTYPE_MOSTLY_Q8_0},
    {LlamaFtype::Q5_0, LLAMA_FTYPE_MOSTLY_Q5_0},
    {LlamaFtype::Q5_1, LLAMA_FTYPE_MOSTLY_Q5_1},
    {LlamaFtype::Q2_K, LLAMA_FTYPE_MOSTLY_Q2_K},
    {LlamaFtype::Q3_K_S, LLAMA_FTYPE_MOSTLY_Q3_K_S},
    {LlamaFtype::Q3_K_M, LLAMA_FTYPE_MOSTLY_Q3_K_M},
    {LlamaFtype::Q3_K_L, LLAMA_FTYPE_MOSTLY_Q3_K_L},
    {LlamaFtype::Q4_K_S, LLAMA_FTYPE_MOSTLY_Q4_K_S},
    {LlamaFtype::Q4_K_M, LLAMA_FTYPE_MOSTLY_Q4_K_M},
    {LlamaFtype::Q5_K_S, LLAMA_FTYPE_MOSTLY_Q5_K_S},
    {LlamaFtype::Q5_K_M, LLAMA_FTYPE_MOSTLY_Q5_K_M},
    {LlamaFtype::Q6_K, LLAMA_FTYPE_MOSTLY_Q6_K},
    {LlamaFtype::IQ2_XXS, LLAMA_FTYPE_MOSTLY_IQ2_XXS},
    {LlamaFtype::IQ2_XS, LLAMA_FTYPE_MOSTLY_IQ2_XS},
    {LlamaFtype::Q2_K_S, LLAMA_FTYPE_MOSTLY_Q2_K_S},
    {LlamaFtype::IQ3_XS, LLAMA_FTYPE_MOSTLY_IQ3_XS},
    {LlamaFtype::IQ3_XXS, LLAMA_FTYPE_MOSTLY_IQ3_XXS},
    {LlamaFtype::IQ1_S, LLAMA_FTYPE_MOSTLY_IQ1_S},
    {LlamaFtype::IQ4_NL, LLAMA_FTYPE_MOSTLY_IQ4_NL},
    {LlamaFtype::IQ3_S, LLAMA_FTYPE_MOSTLY_IQ3_S},
    {LlamaFtype::IQ3_M, LLAMA_FTYPE_MOSTLY_IQ3_M},
    {LlamaFtype::IQ2_S, LLAMA_FTYPE_MOSTLY_IQ2_S},
    {LlamaFtype::IQ2_M, LLAMA_FTYPE_MOSTLY_IQ2_M},
    {LlamaFtype::IQ4_XS, LLAMA_FTYPE_MOSTLY_IQ4_XS},
    {LlamaFtype::IQ1_M, LLAMA_FTYPE_MOSTLY_IQ1_M},
    {LlamaFtype::BF16, LLAMA_FTYPE_MOSTLY_BF16},
    {LlamaFtype::TQ1_0, LLAMA_FTYPE_MOSTLY_TQ1_0},
    {LlamaFtype::TQ2_0, LLAMA_FTYPE_MOSTLY_TQ2_0},
    {LlamaFtype::MXFP4_MOE, LLAMA_FTYPE_MOSTLY_MXFP4_MOE},
    {LlamaFtype::NVFP4, LLAMA_FTYPE_MOSTLY_NVFP4},
    {LlamaFtype::Q1_0, LLAMA_FTYPE_MOSTLY_Q1_0},
    {LlamaFtype::Q2_0, LLAMA_FTYPE_MOSTLY_Q2_0},
};
static_assert(std::ranges::all_of(kSameFtype,
                                  [](auto p) { return static_cast<int>(p.first) == p.second; }));
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

}  // namespace slmkit::peers
