// Names of the ONNX export's variants and precisions, and whether this build can export at all.
// Compiled in every build, also one without ONNX (SLMKIT_ONNX=OFF), so that options still parse
// and the refusal can name what was asked for.
#include "core/fail.h"
#include "slmkit/export_onnx.h"

#ifndef SLMKIT_HAVE_ONNX
#define SLMKIT_HAVE_ONNX 0
#endif

namespace slmkit {

bool onnx_supported() {
  return SLMKIT_HAVE_ONNX != 0;
}

const char* onnx_variant_name(OnnxVariant variant) {
  switch (variant) {
    case OnnxVariant::plain:
      return "plain";
    case OnnxVariant::with_past:
      return "with_past";
    case OnnxVariant::prefill:
      return "prefill";
    case OnnxVariant::decode:
      return "decode";
  }
  return "?";
}

const char* onnx_precision_name(OnnxPrecision precision) {
  switch (precision) {
    case OnnxPrecision::fp32:
      return "fp32";
    case OnnxPrecision::fp16:
      return "fp16";
    case OnnxPrecision::int8:
      return "int8";
    case OnnxPrecision::q4:
      return "q4";
    case OnnxPrecision::q4f16:
      return "q4f16";
  }
  return "?";
}

OnnxVariant parse_onnx_variant(const std::string& name) {
  for (OnnxVariant v :
       {OnnxVariant::plain, OnnxVariant::with_past, OnnxVariant::prefill, OnnxVariant::decode}) {
    if (name == onnx_variant_name(v)) return v;
  }
  fail_invalid("ONNX export: unknown variant '{}' (supported: plain, with_past, prefill, decode)",
               name);
}

OnnxPrecision parse_onnx_precision(const std::string& name) {
  if (name == "fp32") return OnnxPrecision::fp32;
  if (name == "fp16") return OnnxPrecision::fp16;
  if (name == "int8") return OnnxPrecision::int8;
  if (name == "q4") return OnnxPrecision::q4;
  if (name == "q4f16") return OnnxPrecision::q4f16;
  fail_unsupported(
      "ONNX export: precision '{}' is not supported (supported: fp32, fp16, int8, q4, "
      "q4f16)",
      name);
}

}  // namespace slmkit
