// The engine's evaluation entry points (slmkit/perplexity.h): the evaluation driver (eval/) over
// the engine as a logit source.
#include "slmkit/perplexity.h"

#include <memory>

#include "engine/engine_logits.h"
#include "eval/chunks.h"
#include "eval/kl_divergence.h"
#include "eval/perplexity.h"

namespace slmkit {

PerplexityResult compute_perplexity(const Engine& engine, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options) {
  // The same checks as the driver's, before a session is sized by n_ctx.
  eval::plan_chunks(static_cast<int64_t>(tokens.size()), options.n_ctx, options.n_chunks,
                    options.add_bos, options.bos_id, 4, "perplexity");
  engine::EngineLogits source(engine, options.n_ctx, options.n_threads, options.kv_type);
  return eval::perplexity(source, tokens, options);
}

ChunkLogits engine_chunk_logits(const Engine& engine, const PerplexityOptions& options) {
  auto source = std::make_shared<engine::EngineLogits>(engine, options.n_ctx, options.n_threads,
                                                       options.kv_type);
  return [source](std::span<const int32_t> chunk) { return source->logits(chunk); };
}

PerplexityResult write_kl_base(const Engine& engine, std::span<const int32_t> tokens,
                               const PerplexityOptions& options,
                               const std::filesystem::path& path) {
  eval::plan_chunks(static_cast<int64_t>(tokens.size()), options.n_ctx, options.n_chunks,
                    options.add_bos, options.bos_id, 4, "kl-divergence base");
  engine::EngineLogits source(engine, options.n_ctx, options.n_threads, options.kv_type);
  return eval::write_kl_base(source, engine.config().vocab_size, tokens, options, path);
}

KlDivergenceResult compute_kl_divergence(const Engine& engine, const std::filesystem::path& base,
                                         const PerplexityOptions& options) {
  // The chunk length comes from the file; read it before making the session.
  PerplexityOptions o = options;
  o.n_ctx = eval::kl_base_context(base);
  eval::check_chunk_options(o.n_ctx, o.add_bos, o.bos_id, 4, "kl-divergence");
  engine::EngineLogits source(engine, o.n_ctx, o.n_threads, o.kv_type);
  return eval::compute_kl_divergence(source, engine.config().vocab_size, base, o);
}

}  // namespace slmkit
