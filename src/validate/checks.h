// Internals of validation: the check list every stage appends to, the per-precision bounds, and
// the stages themselves (format checks per container, functional checks per runtime).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "slmkit/engine.h"
#include "slmkit/task_eval.h"
#include "slmkit/validate.h"
#include "validate/artifact.h"
#include "validate/reference.h"

namespace slmkit::validation {

class Checks {
 public:
  explicit Checks(std::vector<ValidationCheck>& out, std::string category)
      : out_(out), category_(std::move(category)) {}
  // A yes/no check.
  bool expect(const std::string& name, bool passed, std::string detail);
  // value `comparison` bound, comparison one of "<=", ">=", "==".
  bool measure(const std::string& name, double value, const char* comparison, double bound,
               std::string detail = {});
  // A number measured and recorded, not judged (no bound): passes when finite.
  bool record(const std::string& name, double value, std::string detail);
  void set_category(std::string category) { category_ = std::move(category); }

 private:
  std::vector<ValidationCheck>& out_;
  std::string category_;
};

// Limits for one precision, see the table in bounds.cpp.
struct PrecisionBounds {
  std::string precision;
  double logits_rel = 0;    // max |logit - reference| / reference logit range
  double top5_overlap = 0;  // mean share of the reference's top-5 also in the artifact's top-5
  double greedy_share = 0;  // leading greedy tokens equal to the reference's, share of n_compare
};
PrecisionBounds bounds_for(const std::string& precision);
// The bounds for an artifact of `precision` compared with `reference`: bounds_for(precision), but
// no tighter than the row of the reference's own weight type where that is not F32 (an F16
// reference's engine run carries F16's error itself).
PrecisionBounds comparison_bounds(const std::string& precision, const Model& reference);
// `b` no tighter than the rows of the artifact's own matrix types, for a file named for one plain
// type (F16, Q8_0, Q4_K...; presets ending _S/_M/_L keep their row, measured on the mix they make).
// A `quantize -t auto` mix is named for the type holding most of its bytes (llama.cpp has no
// "mixed" file type) and may hold lower-precision matrices, whose error its logits carry.
PrecisionBounds widened_by_matrix_types(PrecisionBounds b, const std::string& precision,
                                        const Model& artifact);

// A GGUF read once: the parsed container and the family's reading of it.
struct GgufRead {
  gguf::File file;
  Model model;
};

// Format checks; nullopt when the bytes are too broken to run (onnx: false).
std::optional<GgufRead> gguf_format_checks(const std::filesystem::path& path, Checks& checks);
bool onnx_format_checks(const artifact::Info& info, Checks& checks);

// Functional checks against `reference`; `precision` chooses the bounds (and the ONNX graph). A
// null ONNX reference: the one ValidateOptions names, or the folder's fp32 graph in ONNX Runtime.
void gguf_functional_checks(const Engine& artifact, const std::vector<int32_t>& prompt,
                            Reference& reference, const std::string& precision,
                            const ValidateOptions& options, Checks& checks);
void onnx_functional_checks(const artifact::Info& info, const std::string& precision,
                            const std::string& suffix, Reference* reference,
                            const ValidateOptions& options, Checks& checks);

// The task of ValidateOptions::task, read and named (Error for a bad file or bad options);
// nullopt when none is given.
std::optional<Task> validation_task(const ValidateOptions& options);
// The "task_accuracy" check: the artifact scored on `task` (a GGUF in our engine; an ONNX
// precision's no-cache graph through ONNX Runtime) against the reference on the same items (an
// ONNX folder without a reference model: its fp32 graph, else the graph itself).
// Records "task_accuracy" + suffix: the artifact's accuracy, against min_ratio x the reference's
// when given (else recorded, not judged), the paired difference in the detail.
void record_task_accuracy(const TaskResult& artifact, const TaskResult& reference,
                          const std::string& reference_name, const std::string& suffix,
                          std::optional<double> min_ratio, Checks& checks);
void gguf_task_check(const Engine& artifact, Reference& reference, const Task& task,
                     const ValidateOptions& options, Checks& checks);
void onnx_task_check(const artifact::Info& info, const std::string& precision,
                     const std::string& suffix, Reference* reference, const Task& task,
                     const ValidateOptions& options, Checks& checks);

// The artifact itself with every tensor widened to F32: the reference when none is given.
Model widened_to_f32(const Model& m);

// Logit comparison over the same positions.
struct LogitStats {
  double max_abs_diff = 0;
  double reference_range = 0;
  double top5_overlap = 0;  // mean over positions
  int64_t positions = 0;
};
LogitStats compare_logits(const std::vector<float>& reference, const std::vector<float>& other,
                          int64_t vocab);
int64_t leading_matches(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// Records the functional checks from what the reference and the artifact produced.
struct FunctionalResult {
  std::vector<int32_t> reference_greedy, artifact_greedy;
  std::vector<float> reference_logits, artifact_logits;  // over prompt + reference_greedy
  int64_t vocab = 0;
  double tokens_per_second = 0;
  std::string reference_name;
};
void record_functional(const FunctionalResult& r, const PrecisionBounds& b,
                       const ValidateOptions& options, const std::string& suffix, Checks& checks);

}  // namespace slmkit::validation
