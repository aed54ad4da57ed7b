// Stands in for the ONNX exporter in a build without the ONNX library (SLMKIT_ONNX=OFF): the API
// links and every export says why it cannot run.
#if !SLMKIT_HAVE_ONNX

#include "core/fail.h"
#include "slmkit/export_onnx.h"

namespace slmkit {

void write_onnx_graph(const Model&, const OnnxGraphOptions& options,
                      const std::filesystem::path& path) {
  fail_unsupported(
      "{}: cannot write an ONNX graph ({}, {}): this build of slmkit has no ONNX support "
      "(configured with SLMKIT_ONNX=OFF)",
      path.string(), onnx_variant_name(options.variant), onnx_precision_name(options.precision));
}

OnnxExportResult export_onnx(const Model&, const std::filesystem::path& dir,
                             const OnnxExportOptions&) {
  fail_unsupported(
      "{}: cannot export ONNX: this build of slmkit has no ONNX support (configured with "
      "SLMKIT_ONNX=OFF)",
      dir.string());
}

}  // namespace slmkit

#endif  // !SLMKIT_HAVE_ONNX
