// Stands in for ort_peer.cpp in a build without the ONNX library (SLMKIT_ONNX=OFF): the peer is
// never available, and every call says why.
#if !SLMKIT_HAVE_ONNX

#include "core/fail.h"
#include "peers/ort_peer.h"

namespace slmkit::peers {
namespace {

[[noreturn]] void unavailable() {
  fail_unsupported("ONNX Runtime peer not available: {}", OrtPeer::unavailable_reason());
}

}  // namespace

bool OrtPeer::available() {
  return false;
}

std::string OrtPeer::unavailable_reason() {
  return "this build of slmkit has no ONNX support (configured with SLMKIT_ONNX=OFF)";
}

OrtRunResult ort_run(const OrtRunRequest&) {
  unavailable();
}

OrtTimingResult ort_time(const OrtTimingRequest&) {
  unavailable();
}

OrtModelShape ort_shape_of_export(const std::filesystem::path&) {
  unavailable();
}

OrtModelShape ort_shape_of_graph(const std::filesystem::path&) {
  unavailable();
}

}  // namespace slmkit::peers

#endif  // !SLMKIT_HAVE_ONNX
