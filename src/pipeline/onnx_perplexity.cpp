#include "pipeline/onnx_perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/fail.h"
#include "peers/ort_peer.h"

namespace slmkit::pipeline {

double token_nll(std::span<const float> row, int32_t target) {
  const float max_logit = *std::max_element(row.begin(), row.end());
  double sum_exp = 0;
  for (float v : row) sum_exp += std::exp(v - max_logit);
  return -(row[static_cast<size_t>(target)] - max_logit - std::log(sum_exp));
}

PerplexityResult NllAccumulator::result() const {
  PerplexityResult r;
  if (count == 0) return r;
  const double mean = nll / static_cast<double>(count);
  const double var = nll2 / static_cast<double>(count) - mean * mean;
  r.ppl = std::exp(mean);
  r.ppl_error = var > 0 && count > 1 ? std::sqrt(var / static_cast<double>(count - 1)) * r.ppl : 0;
  r.n_scored = count;
  return r;
}

PerplexityResult onnx_perplexity(const std::filesystem::path& export_dir,
                                 const std::filesystem::path& graph,
                                 std::span<const int32_t> tokens,
                                 const PerplexityOptions& options) {
  const int64_t n_ctx = options.n_ctx;
  if (n_ctx < 4) fail_invalid("perplexity: context of {} tokens, need at least 4", n_ctx);
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * n_ctx) {
    fail_invalid("perplexity: need at least {} tokens for a context of {}; the text has {}",
                 2 * n_ctx, n_ctx, n_tokens);
  }
  if (!peers::OrtPeer::available()) {
    fail_unsupported("ONNX Runtime not available: {}", peers::OrtPeer::unavailable_reason());
  }
  const int64_t n_chunk_max = n_tokens / n_ctx;
  const int64_t n_chunk =
      options.n_chunks < 0 ? n_chunk_max : std::min(options.n_chunks, n_chunk_max);
  const auto t0 = std::chrono::steady_clock::now();

  peers::OrtRunRequest request;
  request.mode = peers::OrtMode::plain;
  request.model = graph;
  request.shape = peers::ort_shape_of_export(export_dir);
  request.want_logits = true;
  request.n_threads = options.n_threads > 0 ? options.n_threads : 1;
  const int64_t first = n_ctx / 2;
  NllAccumulator acc;
  std::vector<double> chunk_ppl;
  for (int64_t i = 0; i < n_chunk; ++i) {
    const int64_t start = i * n_ctx;
    request.tokens.assign(tokens.begin() + start, tokens.begin() + start + n_ctx);
    if (options.add_bos) request.tokens[0] = options.bos_id;
    const peers::OrtRunResult run = peers::ort_run(request);
    const int64_t vocab = run.vocab;
    if (vocab <= 0 || static_cast<int64_t>(run.logits.size()) != n_ctx * vocab) {
      fail(ErrorKind::internal, "ONNX perplexity: {}: {} logits for {} tokens of vocab {}",
           graph.string(), run.logits.size(), n_ctx, vocab);
    }
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const std::span<const float> row(run.logits.data() + j * vocab, static_cast<size_t>(vocab));
      acc.add(token_nll(row, tokens[static_cast<size_t>(start + j + 1)]));
    }
    chunk_ppl.push_back(std::exp(acc.nll / static_cast<double>(acc.count)));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (options.on_chunk) options.on_chunk({i + 1, n_chunk, chunk_ppl.back(), seconds});
  }
  PerplexityResult r = acc.result();
  r.n_chunks = n_chunk;
  r.chunk_ppl = std::move(chunk_ppl);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace slmkit::pipeline
