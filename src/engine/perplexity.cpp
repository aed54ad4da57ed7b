// llama-perplexity's method (tools/perplexity/perplexity.cpp, perplexity()), chunk by chunk.
#include "slmkit/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/fail.h"

namespace slmkit {

PerplexityResult compute_perplexity(const Engine& engine, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options) {
  const int64_t n_ctx = options.n_ctx;
  if (n_ctx < 4) fail_invalid("perplexity: context of {} tokens, need at least 4", n_ctx);
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * n_ctx) {
    fail_invalid("perplexity: need at least {} tokens for a context of {}; the text has {}",
                 2 * n_ctx, n_ctx, n_tokens);
  }
  if (options.add_bos && options.bos_id < 0) {
    fail_invalid("perplexity: add_bos is set but the model has no BOS token");
  }
  const int64_t n_chunk_max = n_tokens / n_ctx;
  const int64_t n_chunk =
      options.n_chunks < 0 ? n_chunk_max : std::min(options.n_chunks, n_chunk_max);

  SessionOptions session_options;
  session_options.n_ctx = n_ctx;
  session_options.n_batch = std::min<int64_t>(n_ctx, 512);  // llama.cpp's default ubatch
  session_options.n_threads = options.n_threads;
  session_options.kv_type = options.kv_type;
  session_options.all_logits = true;
  Session session(engine, session_options);
  const int64_t n_vocab = session.n_vocab();

  // Only the second half of each chunk is scored, so every scored token has at least
  // n_ctx / 2 tokens of context.
  const int64_t first = n_ctx / 2;
  PerplexityResult result;
  result.chunk_ppl.reserve(static_cast<size_t>(n_chunk));
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n_chunk; ++i) {
    const int64_t start = i * n_ctx;
    std::copy(tokens.begin() + start, tokens.begin() + start + n_ctx, chunk.begin());
    if (options.add_bos) chunk[0] = options.bos_id;
    session.clear();
    std::span<const float> logits = session.eval(chunk, true);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* row = logits.data() + j * n_vocab;
      const int32_t target = tokens[static_cast<size_t>(start + j + 1)];
      const float max_logit = *std::max_element(row, row + n_vocab);
      double sum_exp = 0;
      for (int64_t v = 0; v < n_vocab; ++v) sum_exp += std::exp(row[v] - max_logit);
      const double v = -(row[target] - max_logit - std::log(sum_exp));
      nll += v;
      nll2 += v * v;
    }
    count += n_ctx - 1 - first;
    result.chunk_ppl.push_back(std::exp(nll / static_cast<double>(count)));
    if (options.on_chunk) {
      PerplexityProgress p;
      p.chunk = i + 1;
      p.n_chunks = n_chunk;
      p.ppl = result.chunk_ppl.back();
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      options.on_chunk(p);
    }
  }
  const double mean = nll / static_cast<double>(count);
  const double var = nll2 / static_cast<double>(count) - mean * mean;
  result.ppl = std::exp(mean);
  result.ppl_error = var > 0 ? std::sqrt(var / static_cast<double>(count - 1)) * result.ppl : 0.0;
  result.n_chunks = n_chunk;
  result.n_scored = count;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace slmkit
