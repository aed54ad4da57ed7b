// Quantizing a model: every weight matrix to a GGUF block type, per tensor as a preset says
// (llama.cpp's presets: Q4_K_M, Q8_0, ...), bit-exact with llama.cpp's quantizer for the same
// float input. The result is a Model whose tensors hold the quantized bytes; save_model writes it
// as a GGUF that llama.cpp loads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/imatrix.h"
#include "slmkit/model.h"
#include "slmkit/progress.h"

namespace slmkit {

struct QuantizeOptions {
  // A preset ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q3_K_M", "Q3_K_S", "Q3_K_L", "Q2_K",
  // "Q6_K") or a type ("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "F16", "BF16", "F32").
  std::string type = "Q8_0";
  bool pure = false;    // every matrix to the base type: no per-tensor rules (llama.cpp --pure)
  bool strict = false;  // Error(invalid_input) instead of a fallback type for a row that does
                        // not fit the block size
  bool allow_requantize = false;  // accept already-quantized inputs (dequantized first)
  int n_threads = 0;              // 0: one per hardware thread
  // Importance weights (slmkit imatrix, or llama-imatrix's files): matrices it covers take the
  // weighted quantizers, as llama-quantize --imatrix. Null: the reference paths.
  std::shared_ptr<const ImportanceMatrix> imatrix;
  // With an imatrix: quantize every row both ways (llama.cpp's weighted path and the reference
  // path) and keep the one with the smaller imatrix-weighted error. Not byte-identical with
  // llama.cpp any more, but never worse by that measure (llama.cpp's weighted path alone can be:
  // see docs/quantization.md).
  bool imatrix_best_of_both = false;
  // Per-tensor types by tensor name ("blk.0.attn_v.weight" -> "q6_K"; any case), replacing what
  // the preset chose for that tensor (llama-quantize's --tensor-type, by exact name). The tensor
  // must be one the preset quantizes, and its rows must fit the type's block: Error(invalid_input)
  // otherwise. With any entry, general.file_type is the type holding most matrix bytes (as
  // llama.cpp names a file by its dominant type).
  std::map<std::string, std::string> tensor_types;
  // Called before each tensor (done = tensors finished) and once at the end; the token is looked
  // at before each tensor.
  ProgressCallback on_progress;
  CancelToken cancel;
};

struct TensorQuantization {
  std::string name;
  std::string from;  // type names as llama.cpp writes them: "f32", "q4_K"
  std::string to;
  std::string reason;  // the rule or fallback that chose `to`; "" for the preset's base type
  bool fallback = false;
  bool imatrix = false;  // quantized with importance weights
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

struct QuantizeReport {
  std::string preset;     // canonical name
  int32_t file_type = 0;  // llama_ftype written to general.file_type
  std::vector<TensorQuantization> tensors;
  int n_fallback = 0;
  int n_imatrix = 0;      // tensors quantized with importance weights
  uint64_t bytes_in = 0;  // tensor data
  uint64_t bytes_out = 0;
  double seconds = 0.0;

  nlohmann::ordered_json to_json() const;
};

// A tensor's elements as f32 for every type slmkit reads: the plain element types
// (Tensor::to_f32) and the block types the quant registry dequantizes; Error(unsupported) for
// others (IQ*, TQ*, MXFP4).
std::vector<float> dequantize(const Tensor& tensor);

// Names accepted by QuantizeOptions::type.
std::vector<std::string> quantize_type_names();

// Returns `model` with its weights quantized; `report` (optional) says what each tensor became
// and why. Throws Error(invalid_input) for an unknown type name, or under `strict` for a tensor
// that needed a fallback.
Model quantize_model(const Model& model, const QuantizeOptions& options,
                     QuantizeReport* report = nullptr);

// The same quantization written straight to a GGUF at `output` (the bytes save_model would write
// for quantize_model's result), one tensor at a time: each tensor is quantized when the writer
// reaches it, written and freed, and the input's file pages are handed back after it, so the
// peak memory is about one tensor in and out however large the model. Written to a temporary
// name and renamed at the end. Errors from the plan (unknown type, --strict, imatrix mismatch)
// come before the file is begun.
void quantize_model_to_file(const Model& model, const QuantizeOptions& options,
                            const std::filesystem::path& output, QuantizeReport* report = nullptr);

}  // namespace slmkit
