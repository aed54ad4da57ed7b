// Running an exported artifact on prompts, as a deployment would: greedy text per prompt from
// the runtime the format is meant for (a GGUF in our engine, ONNX in ONNX Runtime), the decode
// speed, and, when an FP32 reference is given, the validation's functional checks (logits,
// top-5, greedy agreement, speed) on each prompt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/progress.h"
#include "slmkit/validate.h"

namespace slmkit {

struct InferenceOptions {
  std::optional<std::filesystem::path> reference;  // any input format
  int64_t max_new_tokens = 32;
  // An ONNX folder holding several precisions: the one to run ("" picks fp32, else the first).
  std::string precision;
  int n_threads = 0;  // 0: every core
  // Called before each prompt's generation and before its comparison with the reference; the
  // token is looked at at the same points.
  ProgressCallback on_progress;
  CancelToken cancel;
};

struct PromptInference {
  std::string prompt;
  int64_t n_prompt_tokens = 0;  // BOS included where the vocabulary adds one
  // Greedy continuation, up to max_new_tokens or the first end-of-generation token (excluded).
  std::vector<int32_t> tokens;
  std::string text;  // the continuation as `slmkit run --temp 0` prints it after the prompt
  bool stopped_at_end_of_generation = false;
  double tokens_per_second = 0;  // single-token decode passes
  // With a reference: validate_artifact's functional checks with this prompt and max_new_tokens
  // compared tokens. Empty without one.
  std::vector<ValidationCheck> agreement;
  bool agrees() const;  // every agreement check passed (true without a reference)
};

struct InferenceReport {
  std::string artifact;   // as given
  std::string format;     // "gguf" or "onnx"
  std::string precision;  // "Q8_0", "fp32", ...
  std::string runtime;    // "slmkit" or "onnxruntime"
  std::string graph;      // ONNX: the graph file that ran, relative to the artifact's folder
  std::string reference;  // the reference's file name, "" without one
  int64_t max_new_tokens = 0;
  std::vector<PromptInference> prompts;
  double seconds = 0;

  bool passed() const;  // every prompt agrees with the reference
  nlohmann::ordered_json to_json() const;
};

// Error(invalid_input) for no prompts or max_new_tokens < 1, or a precision the folder lacks;
// Error(unsupported) when ONNX Runtime is not available for an ONNX artifact; the loaders' Errors
// for a file that does not load.
InferenceReport test_inference(const std::filesystem::path& artifact,
                               const std::vector<std::string>& prompts,
                               const InferenceOptions& options = {});

}  // namespace slmkit
