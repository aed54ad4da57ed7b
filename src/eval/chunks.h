// The evaluation driver: llama-perplexity's chunking, written once. A text's tokens are cut into
// chunks of n_ctx; each is evaluated from an empty context with its first token replaced by BOS
// (when the vocabulary adds one), and only the second half is scored, so every scored token has
// at least n_ctx / 2 tokens of context: the logits at positions n_ctx/2 .. n_ctx-2 predicting the
// tokens after them. Perplexity, KL divergence (base and comparison), imatrix collection and the
// ONNX perplexity all go through here.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "eval/logit_source.h"

namespace slmkit::eval {

struct ChunkPlan {
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;
  bool add_bos = false;
  int32_t bos_id = -1;
  int64_t first_scored() const { return n_ctx / 2; }
  int64_t scored_per_chunk() const { return n_ctx - 1 - first_scored(); }
};

// The chunks of a text of n_tokens: all that fit, at most `max_chunks` (< 0: no limit). Errors
// (invalid_input, messages led by `what`): n_ctx below min_ctx, fewer than 2 * n_ctx tokens (as
// llama.cpp refuses), add_bos without a BOS token.
ChunkPlan plan_chunks(int64_t n_tokens, int64_t n_ctx, int64_t max_chunks, bool add_bos,
                      int32_t bos_id, int64_t min_ctx, std::string_view what);
// The checks that do not depend on the text (also for chunks stored in a file).
void check_chunk_options(int64_t n_ctx, bool add_bos, int32_t bos_id, int64_t min_ctx,
                         std::string_view what);

// Calls fn(c, chunk) for chunk c = 0 .. n_chunks-1: tokens [c n_ctx, (c + 1) n_ctx) with the first
// replaced by BOS when add_bos.
void for_each_chunk(std::span<const int32_t> tokens, const ChunkPlan& plan,
                    const std::function<void(int64_t c, std::span<const int32_t> chunk)>& fn);

// One evaluated chunk: row j of `logits` predicts target(j) = text[j + 1], the text's own token
// (not the BOS that replaced the first); rows [first_scored, end_scored) are the scored ones.
struct ScoredChunk {
  int64_t index = 0;
  std::span<const int32_t> text;  // the chunk's tokens as the text has them
  std::span<const float> logits;  // [n_ctx, n_vocab]
  int64_t n_vocab = 0;
  int64_t first_scored = 0, end_scored = 0;
  const float* row(int64_t j) const { return logits.data() + j * n_vocab; }
  int32_t target(int64_t j) const { return text[static_cast<size_t>(j + 1)]; }
};

// Every chunk through `source`, handed to `score` with its logits. The vocabulary size is read off
// the logits (n_ctx rows); Error(internal) when they are not whole rows, or not rows of n_vocab
// where that is given (> 0).
void score_chunks(LogitSource& source, std::span<const int32_t> tokens, const ChunkPlan& plan,
                  int64_t n_vocab, const std::function<void(const ScoredChunk&)>& score);

}  // namespace slmkit::eval
