// Perplexity of an ONNX export, run in ONNX Runtime (the ORT peer), by the same method as
// compute_perplexity (llama-perplexity's): chunks of n_ctx tokens from an empty context, the first
// token of each replaced by BOS when the vocabulary adds one, the second half scored. So the
// numbers sit in one column with our engine's for the GGUF artifacts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "slmkit/perplexity.h"

namespace slmkit::pipeline {

// The NLL of `target` under one row of logits (log-softmax in double, as compute_perplexity).
double token_nll(std::span<const float> logits_row, int32_t target);

// Accumulates per-token NLLs into llama-perplexity's PPL and its +/- error.
struct NllAccumulator {
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  void add(double v) {
    nll += v;
    nll2 += v * v;
    ++count;
  }
  PerplexityResult result() const;
};

// `graph`: a no-cache graph (onnx/model*.onnx) of an export folder. Throws Error(unsupported) with
// the reason when ONNX Runtime is not available, and as compute_perplexity for too short a text.
PerplexityResult onnx_perplexity(const std::filesystem::path& export_dir,
                                 const std::filesystem::path& graph,
                                 std::span<const int32_t> tokens, const PerplexityOptions& options);

}  // namespace slmkit::pipeline
