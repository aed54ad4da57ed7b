// SmoothQuant (Xiao et al., 2023) for the neutral model: a few activation channels are tens of
// times larger than the rest, so quantizing activations (per 32-element block in GGUF's dot
// products, per tensor in static int8) wastes their range. Per input channel j of the matrices
// that read one norm's output, s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) moves the difficulty
// from the activations to the weights: X/s is folded into the norm (RMSNorm weight; LayerNorm
// weight and bias) and W*s into every matrix that reads it. The function is unchanged (up to f32
// rounding); the file stays a standard model every runtime runs.
//
// What is smoothed: blk.N.attn_norm -> attn_q/k/v (or GPT-2's fused attn_qkv), one s for all of
// them; blk.N.ffn_norm -> ffn_gate/ffn_up, one s. max|W_j| is taken over all readers of the norm,
// as SmoothQuant does. Not smoothed: attn_output and ffn_down (no norm precedes them, so there is
// nothing exact to fold X/s into without changing the runtime graph) and the output head (its
// norm also feeds nothing else, but a tied head is the token embedding, which must stay as is).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/engine.h"
#include "slmkit/model.h"

namespace slmkit {

// Per weight matrix ("blk.0.attn_q.weight", and the output head's), the largest |x_j| its input
// column j took over the calibration tokens.
struct ActivationRanges {
  std::map<std::string, std::vector<float>> max_abs;
  // With ActivationRangeOptions::sample_rows: per matrix, input rows kept as they were (row-major,
  // max_abs's width), spread evenly over the calibration tokens: what `alpha auto` measures on.
  std::map<std::string, std::vector<float>> samples;
  int64_t n_tokens = 0;  // calibration tokens evaluated
  int64_t n_chunks = 0;
};

struct ActivationRangeOptions {
  int64_t n_ctx = 128;    // tokens per chunk, each chunk from an empty context
  int64_t n_chunks = -1;  // at most this many; < 0: all that fit
  bool add_bos = true;    // first token of every chunk replaced by BOS
  int32_t bos_id = -1;
  int n_threads = 0;
  int64_t sample_rows = 0;  // input rows kept per matrix (ActivationRanges::samples); 0: none
  // The matrices whose rows are kept; empty: every "blk." matrix. Readers of one norm share their
  // input, so one of them is enough.
  std::vector<std::string> sample_of;
};

// Evaluates `tokens` in chunks through the engine's SessionOptions::on_matmul_input hook and keeps
// every matrix's per-column max |x|. Throws Error(invalid_input) when the tokens do not
// make one chunk.
ActivationRanges collect_activation_ranges(const Engine& engine, std::span<const int32_t> tokens,
                                           const ActivationRangeOptions& options);

struct SmoothQuantOptions {
  double alpha = 0.5;  // migration strength in [0, 1]: 0 leaves X as is, 1 moves all of it to W
  // Per norm, the alpha in 0, 0.1, ..., 1 whose smoothing gives its readers' outputs the smallest
  // error under W8A8 (int8 weights per output row, int8 activations per tensor) on the calibration
  // rows kept (ActivationRanges::samples), as Neural Compressor's auto-tuning picks it. `alpha` is
  // then unused.
  bool auto_alpha = false;
};

// "0.5" (an alpha in [0, 1]) or "auto", as the commands take it; Error(invalid_input) otherwise.
SmoothQuantOptions parse_smoothquant(const std::string& text);
std::string smoothquant_name(const SmoothQuantOptions& options);  // "0.5", "auto"

struct SmoothedGroup {
  std::string norm;                  // "blk.0.attn_norm"
  std::vector<std::string> readers;  // the matrices scaled by s
  double alpha = 0;
  // With auto_alpha: the relative output error ||Y_q - Y||^2 / ||Y||^2 of every alpha tried
  // (0, 0.1, ..., 1), the chosen one the smallest.
  std::vector<std::pair<double, double>> alpha_errors;
  float s_min = 0, s_max = 0;                   // over the channels
  float x_max_before = 0, x_max_after = 0;      // the largest calibration |x| over the channels
  float x_ratio_before = 0, x_ratio_after = 0;  // max over channels / median over channels
};

struct SmoothQuantReport {
  std::vector<SmoothedGroup> groups;
  std::vector<std::string> skipped;  // matrices read without a preceding norm, left as they are
  nlohmann::ordered_json to_json() const;
};

// Returns `model` smoothed with `ranges` (collected on that same model). Touched tensors become
// F32 (quantize afterwards); others are shared as they are. Throws Error(invalid_input) for alpha
// outside [0, 1], a quantized norm or reader (dequantize first), or a group whose readers have no
// calibration ranges; Error(unsupported) for layouts it cannot fold exactly.
Model smooth_model(const Model& model, const ActivationRanges& ranges,
                   const SmoothQuantOptions& options, SmoothQuantReport* report = nullptr);

// The calibration run behind smooth_model, as `quantize --smoothquant`, `export onnx
// --smoothquant` and `pipeline --smoothquant` take it from a text.
struct SmoothQuantCalibration {
  int64_t n_ctx = 128;       // tokens per chunk
  int64_t n_chunks = 16;     // at most this many chunks
  int n_threads = 0;         // 0: every core
  int64_t sample_rows = 64;  // rows kept per matrix for auto_alpha
};

struct SmoothQuantResult {
  Model model;  // smoothed (touched tensors F32)
  SmoothQuantReport report;
  int64_t n_tokens = 0, n_chunks = 0;  // calibration tokens and chunks evaluated
  std::string alpha;                   // smoothquant_name of the options
  // "smoothquant alpha 0.5 on 2048 calibration tokens (16 chunks): 10 norms folded, 10 matrices
  // without a norm left as they are; largest channel max/median 41.2 -> 3.1"
  std::string summary() const;
};

// `model` smoothed (smooth_model) with activation ranges collected on `calibration_text`,
// tokenized with the model's own vocabulary (BOS per chunk when it adds one). Throws
// Error(invalid_input) for a text shorter than one chunk, and what smooth_model throws.
SmoothQuantResult smooth_with_calibration(const Model& model, const std::string& calibration_text,
                                          const SmoothQuantOptions& options,
                                          const SmoothQuantCalibration& calibration);

// Per weight matrix, the largest |x| its input took over `calibration_text` (the
// tokenization and chunks of smooth_with_calibration): the static activation scales of an ONNX
// w8a8 export (OnnxExportOptions::w8a8_input_max). Collect them on the model being exported,
// after smoothing when it is smoothed. Throws Error(invalid_input) for a text shorter than one
// chunk.
std::map<std::string, float> calibrate_input_max(const Model& model,
                                                 const std::string& calibration_text,
                                                 const SmoothQuantCalibration& calibration);

// The exact per-channel rescaling SmoothQuant is built on, exposed for tests and tools: the norm
// `norm` ("blk.0.ffn_norm") is divided by `scales` per channel (its effective weight, with
// ModelConfig::norm_weight_offset, and its bias) and input column j of every matrix that reads it
// multiplied by scales[j]. The outputs of those matrices are unchanged up to f32 rounding.
void rescale_norm_channels(Model& model, const std::string& norm, std::span<const float> scales);

// The matrices that read `norm`'s output ("blk.0.attn_norm" -> attn_q, attn_k, attn_v), as the
// model's config lays them out; empty for norms whose output is not read by matrices directly.
std::vector<std::string> norm_readers(const Model& model, const std::string& norm);

// Test models with activation outliers (issue 17): in every layer, for `n_channels` channels of
// attn_norm and ffn_norm (the same channels in every layer, spread over different 32-element
// blocks, as real outlier channels persist through the residual stream), the norm's weight is
// multiplied by `factor` and the readers' input column divided by it (rescale_norm_channels with
// s = 1/factor). The function is unchanged up to f32 rounding; the norms' outputs get channels
// `factor` times larger than the rest. Returns the channels chosen.
std::vector<int64_t> add_outlier_channels(Model& model, int n_channels, float factor);

}  // namespace slmkit
