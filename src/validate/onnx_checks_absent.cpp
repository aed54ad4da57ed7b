// Stands in for onnx_checks.cpp in a build without the ONNX library (SLMKIT_ONNX=OFF): validating
// an ONNX artifact is refused with the reason instead of being reported as failed checks.
#if !SLMKIT_HAVE_ONNX

#include "core/fail.h"
#include "validate/checks.h"

namespace slmkit::validation {

bool onnx_format_checks(const artifact::Info& info, Checks&) {
  fail_unsupported(
      "{}: cannot validate an ONNX artifact: this build of slmkit has no ONNX support "
      "(configured with SLMKIT_ONNX=OFF)",
      info.path.string());
}

void onnx_functional_checks(const artifact::Info& info, const std::string&, const std::string&,
                            Reference*, const ValidateOptions&, Checks&) {
  fail_unsupported(
      "{}: cannot run an ONNX artifact: this build of slmkit has no ONNX support (configured "
      "with SLMKIT_ONNX=OFF)",
      info.path.string());
}

}  // namespace slmkit::validation

#endif  // !SLMKIT_HAVE_ONNX
