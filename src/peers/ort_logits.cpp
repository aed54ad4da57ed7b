#include "peers/ort_logits.h"

#include "core/fail.h"
#include "eval/chunks.h"
#include "eval/perplexity.h"

namespace slmkit::peers {

OrtLogits::OrtLogits(const std::filesystem::path& export_dir, const std::filesystem::path& graph,
                     int n_threads) {
  if (!OrtPeer::available()) {
    fail_unsupported("ONNX Runtime not available: {}", OrtPeer::unavailable_reason());
  }
  request_.mode = OrtMode::plain;
  request_.model = graph;
  request_.shape = ort_shape_of_export(export_dir);
  request_.want_logits = true;
  request_.n_threads = n_threads;
}

std::span<const float> OrtLogits::logits(std::span<const int32_t> tokens) {
  request_.tokens.assign(tokens.begin(), tokens.end());
  OrtRunResult run = ort_run(request_);
  const auto n = static_cast<int64_t>(tokens.size());
  if (run.vocab <= 0 || static_cast<int64_t>(run.logits.size()) != n * run.vocab) {
    fail(ErrorKind::internal, "ONNX Runtime: {}: {} logits for {} tokens of vocab {}",
         request_.model.string(), run.logits.size(), n, run.vocab);
  }
  logits_ = std::move(run.logits);
  return logits_;
}

PerplexityResult onnx_perplexity(const std::filesystem::path& export_dir,
                                 const std::filesystem::path& graph,
                                 std::span<const int32_t> tokens,
                                 const PerplexityOptions& options) {
  // The text's checks before ONNX Runtime is started.
  eval::plan_chunks(static_cast<int64_t>(tokens.size()), options.n_ctx, options.n_chunks,
                    options.add_bos, options.bos_id, 4, "perplexity");
  OrtLogits source(export_dir, graph, options.n_threads > 0 ? options.n_threads : 1);
  return eval::perplexity(source, tokens, options);
}

}  // namespace slmkit::peers
