// The generic decoder as an ONNX graph, driven by ModelConfig like the engine's forward pass.
#pragma once

#include <onnx/onnx_pb.h>

#include "slmkit/export_onnx.h"

namespace slmkit::onnx_export {

onnx::ModelProto build_decoder(const Model& model, const OnnxGraphOptions& options);

// ONNX's checker and strict shape inference (types checked, data propagation on); throws
// Error(internal) naming `what` when either rejects the graph.
void check_onnx_model(onnx::ModelProto& model, const std::string& what);

int64_t static_cache_length(const ModelConfig& config, int64_t requested);

}  // namespace slmkit::onnx_export
