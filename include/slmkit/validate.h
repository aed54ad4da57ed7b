// Validating a deployable artifact (a GGUF file, or an ONNX file / optimum-style folder): format
// checks on the bytes, then functional checks that run it (GGUF in our engine, ONNX in ONNX
// Runtime) against the FP32 reference of the same model. Every check records its measured number
// and its bound, so a report says not only that something failed but by how much.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/platform.h"
#include "slmkit/progress.h"

namespace slmkit {

struct ValidationCheck {
  std::string name;      // "gguf.magic", "logits.max_abs_diff_rel", "tokens_per_second", ...
  std::string category;  // "format" or "functional"
  bool passed = false;
  std::optional<double> value;  // what was measured, where it is a number
  std::optional<double> bound;  // the limit it was held to
  std::string comparison;       // "<=", ">=", "==" (value against bound), "" when not numeric
  std::string detail;           // why it failed, or what was looked at

  nlohmann::ordered_json to_json() const;  // as in the report's "checks" list
};

struct ValidationReport {
  std::string artifact;   // file or folder name as given
  std::string format;     // "gguf" or "onnx"
  std::string precision;  // "F16", "Q4_K_M", "fp32", "int8", ...
  std::vector<ValidationCheck> checks;
  double seconds = 0;
  // Where the checks ran. GGUF artifacts run in slmkit's engine (ran_on.isa is the kernels' path);
  // ONNX artifacts in ONNX Runtime, which picks its own kernels for the CPU (ran_on.cpu_isa).
  Platform ran_on;

  bool passed() const;  // every check passed
  const ValidationCheck* first_failure() const;
  nlohmann::ordered_json to_json() const;
  static ValidationReport from_json(const nlohmann::ordered_json& j);  // Error naming the problem
};

struct ValidateOptions {
  // The FP32 reference (any input format: HF folder, GGUF, llama2.c). Without one the functional
  // checks compare against the artifact itself dequantized to F32, which only shows it runs.
  std::optional<std::filesystem::path> reference;
  bool functional = true;  // false: format checks only
  std::string prompt = "Once upon a time";
  int64_t n_compare = 32;  // greedy tokens compared with the reference
  double min_tokens_per_second = 10.0;
  int n_threads = 0;
  // Logit bound (max |diff| / reference logit range) per precision; unset: the built-in table
  // (1e-2 for fp16/F16/BF16, measured bounds for the integer types, documented in validate.cpp).
  std::optional<double> logits_tolerance;
  // A multiple-choice task (task_eval.h) scored on the artifact and on the reference, on the
  // same items: the functional check "task_accuracy" records the artifact's accuracy, held to at
  // least min_accuracy_ratio x the reference's when that is set (unset: measured, not judged;
  // no default, as a small task's accuracy moves by its standard error with any change). ONNX
  // is scored through ONNX Runtime on the precision's no-cache graph: seconds per item.
  // A task file that cannot be read is an Error (bad input), not a failed check.
  std::optional<std::filesystem::path> task;
  std::string task_format;  // hellaswag, winogrande, mc, jsonl; "": from the extension
  int64_t task_items = 0;   // picked as llama.cpp picks them; 0: all
  std::optional<double> min_accuracy_ratio;
  // Called before the format checks and before each precision's functional checks; the token is
  // looked at at the same points.
  ProgressCallback on_progress;
  CancelToken cancel;
};

// Throws Error only when `path` cannot be read at all, or the options are bad (a task file that
// cannot be read); every problem inside the artifact is a failed check.
ValidationReport validate_artifact(const std::filesystem::path& path,
                                   const ValidateOptions& options = {});

// Writes DIR/NAME_{gguf,onnx}_validation.json atomically (NAME: the artifact's stem) and returns
// its path.
std::filesystem::path write_validation_report(const ValidationReport& report,
                                              const std::filesystem::path& dir);

}  // namespace slmkit
