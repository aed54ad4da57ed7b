#include "peers/ort_logits.h"

#include <memory>

#include <nlohmann/json.hpp>

#include "core/fail.h"
#include "eval/chunks.h"
#include "eval/perplexity.h"
#include "slmkit/files.h"

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

namespace slmkit {
namespace fs = std::filesystem;

bool is_onnx_model(const fs::path& model) {
  std::error_code ec;
  if (fs::is_directory(model, ec))
    return fs::is_regular_file(model / "onnx/decoder_model.onnx", ec);
  return model.extension() == ".onnx";
}

OnnxChunkLogits onnx_chunk_logits(const fs::path& model, int n_threads) {
  OnnxChunkLogits o;
  std::error_code ec;
  if (fs::is_directory(model, ec)) {
    o.export_dir = model;
    o.graph = model / "onnx/decoder_model.onnx";
  } else {
    o.graph = model;
    const fs::path parent = model.parent_path().empty() ? fs::path(".") : model.parent_path();
    o.export_dir = fs::is_regular_file(parent / "config.json", ec) ? parent : parent.parent_path();
  }
  if (!fs::is_regular_file(o.graph, ec)) {
    fail_invalid("{}: no ONNX graph there (an export folder holds onnx/decoder_model.onnx)",
                 o.graph.string());
  }
  const fs::path config = o.export_dir / "config.json";
  if (!fs::is_regular_file(config, ec)) {
    fail_invalid("{}: no config.json beside it or one folder up (the export folder's)",
                 o.graph.string());
  }
  try {
    o.n_vocab = nlohmann::json::parse(read_text_file(config)).at("vocab_size").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: vocab_size: {}", config.string(), e.what());
  }
  auto source =
      std::make_shared<peers::OrtLogits>(o.export_dir, o.graph, n_threads > 0 ? n_threads : 1);
  o.logits = [source](std::span<const int32_t> chunk) { return source->logits(chunk); };
  return o;
}

}  // namespace slmkit
