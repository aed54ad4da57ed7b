#include "peers/ort_logits.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fail.h"
#include "slmkit/files.h"
#include "slmkit/perplexity.h"

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

}  // namespace slmkit::peers

namespace slmkit {
namespace fs = std::filesystem;

namespace {

// The folder's no-cache graphs (onnx/decoder_model*.onnx), sorted: fp32's first when present.
std::vector<fs::path> no_cache_graphs(const fs::path& folder) {
  std::vector<fs::path> graphs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder / "onnx", ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("decoder_model") && e.path().extension() == ".onnx") {
      graphs.push_back(e.path());
    }
  }
  std::sort(graphs.begin(), graphs.end());
  return graphs;
}

}  // namespace

bool is_onnx_model(const fs::path& model) {
  std::error_code ec;
  if (fs::is_directory(model, ec)) return !no_cache_graphs(model).empty();
  return model.extension() == ".onnx";
}

OnnxChunkLogits onnx_chunk_logits(const fs::path& model, int n_threads) {
  OnnxChunkLogits o;
  std::error_code ec;
  if (fs::is_directory(model, ec)) {
    // fp32's graph, else the folder's only one; several other precisions: the caller names one.
    const std::vector<fs::path> graphs = no_cache_graphs(model);
    o.export_dir = model;
    o.graph = model / "onnx/decoder_model.onnx";
    if (graphs.size() == 1) o.graph = graphs.front();
    if (graphs.size() > 1 && !fs::is_regular_file(o.graph, ec)) {
      std::string names;
      for (const fs::path& g : graphs) names += (names.empty() ? "" : ", ") + g.filename().string();
      fail_invalid("{}: several no-cache graphs and no fp32 one ({}): name the graph file",
                   model.string(), names);
    }
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
