// KL divergence against a base model over any logit source, as llama-perplexity's
// --kl-divergence-base / --kl-divergence (file format and statistics: slmkit/perplexity.h). The
// public functions take the engine or a ChunkLogits and come here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "eval/logit_source.h"
#include "slmkit/perplexity.h"

namespace slmkit::eval {

// `perplexity`, when given, receives the perplexity of the same logits as eval::perplexity
// computes it (to the last bit), so one pass gives both: the base file's own NLL is rounded to
// float, as llama-perplexity's --kl-divergence mode does.
PerplexityResult write_kl_base(LogitSource& source, int64_t n_vocab,
                               std::span<const int32_t> tokens, const PerplexityOptions& options,
                               const std::filesystem::path& path,
                               PerplexityResult* perplexity = nullptr);
KlDivergenceResult compute_kl_divergence(LogitSource& source, int64_t n_vocab,
                                         const std::filesystem::path& base,
                                         const PerplexityOptions& options,
                                         PerplexityResult* perplexity = nullptr);
// The chunk length a base file was written with (a session is sized by it before comparing).
int64_t kl_base_context(const std::filesystem::path& base);

}  // namespace slmkit::eval
