// ONNX export of the generic decoder (every family the engine runs), for ONNX Runtime 1.30 and
// the runtimes that follow Hugging Face optimum's conventions (transformers.js, onnxruntime-genai
// style loops). Graphs use opset 17 and IR version 8, the newest that Debian's ONNX 1.12 checker
// and shape inference accept; every written graph passes both.
//
// Variants of one model (file names under DIR/onnx/, precision suffix "_fp16", "_int8", "_q4",
// "_q4f16" added as transformers.js names them for its dtype option):
//   model.onnx            with_past: the decoder transformers.js and optimum >= 1.14 load.
//                         Inputs input_ids, position_ids [batch, seq], attention_mask [batch,
//                         past_seq + seq], past_key_values.N.{key,value} [batch, kv_heads,
//                         past_seq, head_dim] (past_seq may be 0: the first step feeds an empty
//                         past); outputs logits [batch, seq, vocab] and present.N.{key,value}
//                         [batch, kv_heads, past_seq + seq, head_dim] (optimum's names/layouts).
//   decoder_model.onnx    plain: no cache; input_ids, attention_mask, position_ids [batch, seq]
//                         in, logits out (optimum's legacy no-cache name: optimum takes it only
//                         with use_cache=False, transformers.js never).
//   prefill.onnx          as decoder_model.onnx, plus present.N.{key,value} padded to max_length.
//   decode.onnx           one token: input_ids, position_ids [batch, 1], cache_position [1] (the
//                         cache slot written), attention_mask [batch, max_length] (1 = slot in
//                         use), past_key_values.N.* [batch, kv_heads, max_length, head_dim] in,
//                         present.N.* of the same fixed shape out.
// Folders written before this layout (model.onnx without cache beside model_with_past.onnx) are
// still read by validate, which tells the layouts apart by the with-past file.
// Keys and values in the caches are in the graph's own order of head dimensions (for RoPE
// "normal" models the rotated pairs are laid out as halves), which only matters to code that
// reads cache contents rather than passing them back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "slmkit/model.h"
#include "slmkit/progress.h"

namespace slmkit {

enum class OnnxVariant { plain, with_past, prefill, decode };
// fp16: weights and compute in f16, logits f32. int8: ONNX Runtime quantize_dynamic's scheme on
// every weight MatMul (DynamicQuantizeLinear on the activations, symmetric 8-bit weights,
// MatMulInteger; OnnxInt8Weights below); embeddings, norms and the tied head stay f32.
// w8a8: int8 as above with static activations: each weight MatMul's input quantized with one
// constant scale (QuantizeLinear, uint8 with zero point 128, scale = the calibration's max |x| /
// 127, w8a8_input_max below) instead of DynamicQuantizeLinear's per-call min/max, as ONNX
// Runtime's static quantizer does; values beyond the calibration's range saturate.
// q4 / q4f16: weight-only 4-bit blocks with com.microsoft MatMulNBits (ONNX Runtime's
// MatMul4BitsQuantizer layout) on every weight MatMul, compute in f32 / f16; the embedding and a
// tied head stay unquantized unless q4_embedding is set.
enum class OnnxPrecision { fp32, fp16, int8, q4, q4f16, w8a8 };

// False in a build configured with SLMKIT_ONNX=OFF (no ONNX library: e.g. the riscv64 cross
// build); every export, ONNX validation and ONNX Runtime call then throws Error(unsupported).
bool onnx_supported();

// How int8 weights are stored; with DynamicQuantizeLinear's uint8 activations this picks ONNX
// Runtime's integer kernels, and the export cannot know the CPU they will run on. On x86 the
// U8S8 kernels of CPUs without VNNI (AVX2, AVX-512 before Ice Lake / Zen 4) add pairs of
// uint8 x int8 products in saturating 16 bits (vpmaddubsw): 255 x 127 x 2 overflows, so full-range
// int8 weights lose accuracy there (stories260K: 0.145 of the logit range instead of 0.038). The
// U8U8 kernels widen both operands to 16 bits first and are exact everywhere. docs/onnx.md has
// the measurements per CPU class.
enum class OnnxInt8Weights {
  u8,          // uint8 with zero point 128 (U8U8 kernels): exact on every CPU; the default
  s8,          // int8 +-127, zero point 0 (U8S8): VNNI's dot product, saturates without VNNI
  s8_reduced,  // int8 +-63 (quantize_dynamic's reduce_range): U8S8 that cannot saturate, 7 bits
};

const char* onnx_variant_name(OnnxVariant variant);        // "plain", "with_past", ...
const char* onnx_precision_name(OnnxPrecision precision);  // "fp32", "fp16", "int8", "w8a8", ...
// The graph's file name inside DIR/onnx/: "model.onnx" (with_past, fp32), "model_q4.onnx",
// "decoder_model_int8.onnx" (plain), "prefill_fp16.onnx", "decode.onnx".
std::string onnx_graph_file_name(OnnxVariant variant, OnnxPrecision precision);

inline constexpr int64_t kOnnxOpset = 17;
inline constexpr int64_t kOnnxIrVersion = 8;

struct OnnxGraphOptions {
  OnnxVariant variant = OnnxVariant::plain;
  OnnxPrecision precision = OnnxPrecision::fp32;
  int64_t max_length = 0;        // prefill/decode cache length; 0: min(context_length, 2048)
  bool check = true;             // run ONNX's checker and strict shape inference before writing
  bool int8_per_channel = true;  // one weight scale per output column, else per tensor
  OnnxInt8Weights int8_weights = OnnxInt8Weights::u8;
  // w8a8: per weight matrix ("blk.0.attn_q.weight"), the largest |x| its input took on calibration
  // text (calibrate_input_max in smoothquant.h). A matrix missing here is Error(invalid_input).
  std::map<std::string, float> w8a8_input_max;
  // Initializers of at least this many bytes go to an external data file "NAME.onnx_data" beside
  // the graph (ONNX external data, as optimum writes for large models). 0: only when the graph
  // would pass protobuf's 2 GiB limit, then every initializer of 1 KiB or more.
  uint64_t external_data_min_bytes = 0;
  int64_t q4_block_size = 32;     // 32, 64 or 128 weights per scale
  bool q4_symmetric = true;       // false: a 4-bit zero point per block (min/max range)
  int64_t q4_accuracy_level = 0;  // MatMulNBits accuracy_level: 0 (runtime's choice) .. 4 (int8)
  // q4 / q4f16 only: the token embedding as 4-bit blocks too (com.microsoft
  // GatherBlockQuantized, same block size and zero-point choice); a tied output head then runs
  // MatMulNBits on the same initializers, so the table is stored once, quantized. Error
  // (unsupported) with another precision.
  bool q4_embedding = false;
};

// Builds one graph and writes it (atomically) to `path`. Weights must be F32, F16 or BF16;
// quantized GGUF tensors give Error(unsupported).
void write_onnx_graph(const Model& model, const OnnxGraphOptions& options,
                      const std::filesystem::path& path);

struct OnnxExportOptions {
  std::vector<OnnxVariant> variants = {OnnxVariant::plain, OnnxVariant::with_past,
                                       OnnxVariant::prefill, OnnxVariant::decode};
  std::vector<OnnxPrecision> precisions = {OnnxPrecision::fp32};
  int64_t max_length = 0;
  bool check = true;
  bool int8_per_channel = true;
  OnnxInt8Weights int8_weights = OnnxInt8Weights::u8;
  std::map<std::string, float> w8a8_input_max;  // needed when precisions has w8a8
  uint64_t external_data_min_bytes = 0;
  int64_t q4_block_size = 32;
  bool q4_symmetric = true;
  int64_t q4_accuracy_level = 0;
  bool q4_embedding = false;  // applied to the q4 / q4f16 graphs only
  // Called before each graph (done = graphs written) and once at the end; the token is looked at
  // before each graph. A cancelled export removes its temporary folder; DIR is left as it was.
  ProgressCallback on_progress;
  CancelToken cancel;
};

struct OnnxExportedFile {
  std::filesystem::path path;  // relative to the output folder
  uint64_t bytes = 0;
};

struct OnnxExportResult {
  // The graphs (and their external data) in the order written, then the folder's other files
  // (config.json, generation_config.json, tokenizer files) by name.
  std::vector<OnnxExportedFile> files;
  double seconds = 0;
};

// Writes DIR/config.json (with use_cache and, where it matters, "transformers.js_config"),
// generation_config.json, tokenizer files and DIR/onnx/*.onnx (the optimum / transformers.js
// layout). The folder is built under a temporary name and renamed into place at the end; an
// existing DIR is replaced only then.
OnnxExportResult export_onnx(const Model& model, const std::filesystem::path& dir,
                             const OnnxExportOptions& options = {});

// Parses "plain", "with_past", "prefill", "decode" / "fp32", "fp16", "int8", "q4", "q4f16",
// "w8a8" / "u8", "s8", "s8_reduced"; Error(invalid_input) listing the supported names otherwise.
OnnxVariant parse_onnx_variant(const std::string& name);
OnnxPrecision parse_onnx_precision(const std::string& name);
OnnxInt8Weights parse_onnx_int8_weights(const std::string& name);
const char* onnx_int8_weights_name(OnnxInt8Weights weights);

}  // namespace slmkit
