// Perplexity over any logit source, by llama-perplexity's method (eval/chunks.h): the engine's
// compute_perplexity and the ONNX perplexity are this with their own source.
#pragma once

#include <span>

#include "eval/logit_source.h"
#include "slmkit/perplexity.h"

namespace slmkit::eval {

// Throws as compute_perplexity (too short a text, n_ctx below 4, add_bos without BOS).
PerplexityResult perplexity(LogitSource& source, std::span<const int32_t> tokens,
                            const PerplexityOptions& options);

}  // namespace slmkit::eval
