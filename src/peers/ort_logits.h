// ONNX Runtime as a logit source (eval/logit_source.h): a no-cache graph of an export folder run
// through the ORT peer, every position's logits in one pass, so the evaluation driver scores ONNX
// files as it scores our engine (slmkit/perplexity.h onnx_chunk_logits is the public face).
#pragma once

#include <filesystem>
#include <span>
#include <vector>

#include "eval/logit_source.h"
#include "peers/ort_peer.h"

namespace slmkit::peers {

class OrtLogits : public eval::LogitSource {
 public:
  // `graph`: a no-cache graph of the export folder `export_dir` (whose config.json gives the
  // shapes). Error(unsupported) with the reason when ONNX Runtime is not available.
  OrtLogits(const std::filesystem::path& export_dir, const std::filesystem::path& graph,
            int n_threads);
  std::span<const float> logits(std::span<const int32_t> tokens) override;

 private:
  OrtRunRequest request_;
  std::vector<float> logits_;
};

}  // namespace slmkit::peers
