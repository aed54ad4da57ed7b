// llama-perplexity's method (tools/perplexity/perplexity.cpp, perplexity()), chunk by chunk.
#include "eval/perplexity.h"

#include "core/stopwatch.h"
#include "eval/chunks.h"
#include "eval/logit_source.h"
#include "eval/nll.h"

namespace slmkit::eval {

PerplexityResult perplexity(LogitSource& source, std::span<const int32_t> tokens,
                            const PerplexityOptions& options) {
  const ChunkPlan plan =
      plan_chunks(static_cast<int64_t>(tokens.size()), options.n_ctx, options.n_chunks,
                  options.add_bos, options.bos_id, 4, "perplexity");
  const Stopwatch clock;
  NllAccumulator acc;
  std::vector<double> chunk_ppl;
  chunk_ppl.reserve(static_cast<size_t>(plan.n_chunks));
  score_chunks(source, tokens, plan, 0, [&](const ScoredChunk& s) {
    for (int64_t j = s.first_scored; j < s.end_scored; ++j) {
      acc.add(token_nll({s.row(j), static_cast<size_t>(s.n_vocab)}, s.target(j)));
    }
    chunk_ppl.push_back(acc.ppl());
    if (options.on_chunk)
      options.on_chunk({s.index + 1, plan.n_chunks, acc.ppl(), clock.seconds()});
  });
  PerplexityResult r = acc.result();
  r.n_chunks = plan.n_chunks;
  r.chunk_ppl = std::move(chunk_ppl);
  r.seconds = clock.seconds();
  return r;
}

}  // namespace slmkit::eval

namespace slmkit {

PerplexityResult compute_perplexity(const ChunkLogits& logits, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options) {
  eval::FunctionLogits source(logits);
  return eval::perplexity(source, tokens, options);
}

}  // namespace slmkit
