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
    case OnnxPrecision::w8a8:
      return "w8a8";
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
  if (name == "w8a8") return OnnxPrecision::w8a8;
  fail_unsupported(
      "ONNX export: precision '{}' is not supported (supported: fp32, fp16, int8, q4, q4f16, "
      "w8a8)",
      name);
}

const char* onnx_int8_weights_name(OnnxInt8Weights weights) {
  switch (weights) {
    case OnnxInt8Weights::u8:
      return "u8";
    case OnnxInt8Weights::s8:
      return "s8";
    case OnnxInt8Weights::s8_reduced:
      return "s8_reduced";
  }
  return "?";
}

OnnxInt8Weights parse_onnx_int8_weights(const std::string& name) {
  for (OnnxInt8Weights w :
       {OnnxInt8Weights::u8, OnnxInt8Weights::s8, OnnxInt8Weights::s8_reduced}) {
    if (name == onnx_int8_weights_name(w)) return w;
  }
  fail_invalid("ONNX export: unknown int8 weight type '{}' (supported: u8, s8, s8_reduced)", name);
}

// transformers.js and optimum >= 1.14 load onnx/model{_fp16,_int8,_q4,_q4f16}.onnx as the decoder
// with past (fed an empty past on the first step), so that name goes to with_past. The no-cache
// graph takes optimum's legacy no-cache name, which optimum loads only with use_cache=False and
// transformers.js never; the static-cache graphs have names neither library looks for.
std::string onnx_graph_file_name(OnnxVariant v, OnnxPrecision p) {
  std::string base;
  switch (v) {
    case OnnxVariant::plain:
      base = "decoder_model";
      break;
    case OnnxVariant::with_past:
      base = "model";
      break;
    case OnnxVariant::prefill:
      base = "prefill";
      break;
    case OnnxVariant::decode:
      base = "decode";
      break;
  }
  if (p != OnnxPrecision::fp32) base += std::string("_") + onnx_precision_name(p);
  return base + ".onnx";
}

}  // namespace slmkit
