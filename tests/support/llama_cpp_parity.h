// Our engine against llama.cpp on the same quantized GGUF, by the parity argument that
// tests/peers/engine_quant_parity_test.cpp sets out: the two sides may round an activation to
// adjacent 8-bit steps, so their logits lie within 2E of each other, E being how far rounding
// every activation moves our logits (measured on the same weights widened to F32), and a greedy
// step may differ only where llama.cpp's top two logits lie within 2 x 2E of each other.
// The comparison itself is the validator's (validation::compare_logits, widened_to_f32), so the
// tests measure with the same function the product reports with.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "peers/llama_cpp_peer.h"
#include "slmkit/engine.h"
#include "support/engine_logits.h"
#include "validate/checks.h"

namespace slmkit::testing {

// llama.cpp as the parity tests run it: the whole sequence in one batch, one thread, f32 KV cache,
// flash attention off.
inline peers::LlamaCppContextOptions parity_context_options(uint32_t n_ctx) {
  peers::LlamaCppContextOptions co;
  co.n_ctx = n_ctx;
  co.n_batch = n_ctx;
  co.n_threads = 1;
  co.kv_cache_f32 = true;
  co.flash_attention = peers::LlamaCppFlashAttention::disabled;
  return co;
}

// Difference between the largest and second-largest value.
inline double top2_margin(std::span<const float> row) {
  float a = -INFINITY, b = -INFINITY;
  for (float v : row) {
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) {
      b = v;
    }
  }
  return static_cast<double>(a) - static_cast<double>(b);
}

struct GreedyParity {
  double range = 0;     // llama.cpp's logit range over the prompt and its continuation
  double relative = 0;  // max |ours - llama.cpp| / range
  double e = 0;         // max |ours - ours with f32 activations| / range: the rounding effect E
  size_t same = 0;      // leading greedy tokens equal
  size_t n_greedy = 0;  // llama.cpp's greedy tokens
  double margin = 0;    // llama.cpp's top-2 margin at the first differing step (0 if none)
};

// llama.cpp greedily continues `prompt` by n_greedy tokens on `theirs`; both sides' logits over
// prompt + that continuation are compared, and our own greedy continuation with theirs.
inline GreedyParity greedy_parity(const Model& ours, const peers::LlamaCppModel& theirs,
                                  const std::vector<int32_t>& prompt, int n_greedy) {
  const peers::LlamaCppContextOptions co = parity_context_options(128);
  const std::vector<int32_t> theirs_greedy =
      peers::LlamaCppContext(theirs, co).generate_greedy(prompt, n_greedy);
  std::vector<int32_t> tokens = prompt;
  tokens.insert(tokens.end(), theirs_greedy.begin(), theirs_greedy.end());
  const peers::LlamaCppLogits want = peers::LlamaCppContext(theirs, co).logits(tokens);

  const std::vector<float> got = engine_all_logits(ours, tokens, 128);
  const std::vector<float> f32_activations =
      engine_all_logits(validation::widened_to_f32(ours), tokens, 128);
  GreedyParity p;
  EXPECT_EQ(got.size(), want.values.size());
  if (got.size() != want.values.size()) return p;
  const validation::LogitStats vs_theirs =
      validation::compare_logits(want.values, got, want.n_vocab);
  const validation::LogitStats vs_f32 =
      validation::compare_logits(f32_activations, got, want.n_vocab);
  p.range = vs_theirs.reference_range;
  p.relative = vs_theirs.max_abs_diff / p.range;
  p.e = vs_f32.max_abs_diff / p.range;

  Engine engine{Model(ours)};
  SessionOptions so;  // as engine_all_logits: one thread, f32 KV cache
  so.n_ctx = 128;
  so.n_threads = 1;
  so.kv_type = DType::F32;
  Session session(engine, so);
  GenerateOptions go;
  go.n_predict = n_greedy;
  go.sampling.temperature = 0;
  go.stop_tokens = {-1};
  const std::vector<int32_t> mine = generate(session, prompt, go).tokens;
  p.same = static_cast<size_t>(validation::leading_matches(mine, theirs_greedy));
  p.n_greedy = theirs_greedy.size();
  // llama.cpp's logits for the step that chose theirs_greedy[same].
  if (p.same < p.n_greedy)
    p.margin = top2_margin(want.row(static_cast<int32_t>(prompt.size() + p.same - 1)));
  return p;
}

// The parity bound: logits within 2E, greedy equal up to a step whose choice was within a flip.
inline void expect_greedy_parity(const GreedyParity& p) {
  const double tolerance = 2 * p.e;
  EXPECT_LE(p.relative, tolerance);
  if (p.same < p.n_greedy) {
    EXPECT_LE(p.margin, 2 * tolerance * p.range)
        << "greedy differs at token " << p.same << " where llama.cpp's choice was clear";
  }
}

}  // namespace slmkit::testing
