#include "eval/chunks.h"

#include <algorithm>
#include <vector>

#include "core/fail.h"

namespace slmkit::eval {

void check_chunk_options(int64_t n_ctx, bool add_bos, int32_t bos_id, int64_t min_ctx,
                         std::string_view what) {
  if (n_ctx < min_ctx) {
    fail_invalid("{}: context of {} tokens, need at least {}", what, n_ctx, min_ctx);
  }
  if (add_bos && bos_id < 0)
    fail_invalid("{}: add_bos is set but the model has no BOS token", what);
}

ChunkPlan plan_chunks(int64_t n_tokens, int64_t n_ctx, int64_t max_chunks, bool add_bos,
                      int32_t bos_id, int64_t min_ctx, std::string_view what) {
  check_chunk_options(n_ctx, add_bos, bos_id, min_ctx, what);
  if (n_tokens < 2 * n_ctx) {
    fail_invalid("{}: need at least {} tokens for a context of {}; the text has {}", what,
                 2 * n_ctx, n_ctx, n_tokens);
  }
  const int64_t fit = n_tokens / n_ctx;
  return {n_ctx, max_chunks < 0 ? fit : std::min(max_chunks, fit), add_bos, bos_id};
}

void for_each_chunk(std::span<const int32_t> tokens, const ChunkPlan& plan,
                    const std::function<void(int64_t c, std::span<const int32_t> chunk)>& fn) {
  std::vector<int32_t> chunk(static_cast<size_t>(plan.n_ctx));
  for (int64_t c = 0; c < plan.n_chunks; ++c) {
    const auto text =
        tokens.subspan(static_cast<size_t>(c * plan.n_ctx), static_cast<size_t>(plan.n_ctx));
    std::copy(text.begin(), text.end(), chunk.begin());
    if (plan.add_bos) chunk[0] = plan.bos_id;
    fn(c, chunk);
  }
}

void score_chunks(LogitSource& source, std::span<const int32_t> tokens, const ChunkPlan& plan,
                  int64_t n_vocab, const std::function<void(const ScoredChunk&)>& score) {
  for_each_chunk(tokens, plan, [&](int64_t c, std::span<const int32_t> chunk) {
    ScoredChunk s;
    s.index = c;
    s.text = tokens.subspan(static_cast<size_t>(c * plan.n_ctx), static_cast<size_t>(plan.n_ctx));
    s.logits = source.logits(chunk);
    const auto n = static_cast<int64_t>(s.logits.size());
    s.n_vocab = n / plan.n_ctx;
    if (s.n_vocab <= 0 || n % plan.n_ctx != 0 || (n_vocab > 0 && s.n_vocab != n_vocab)) {
      fail(ErrorKind::internal, "evaluation: {} logits for {} tokens (vocabulary {})", n,
           plan.n_ctx, n_vocab);
    }
    s.first_scored = plan.first_scored();
    s.end_scored = plan.n_ctx - 1;
    score(s);
  });
}

}  // namespace slmkit::eval
