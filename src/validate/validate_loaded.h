// Validation for a caller that holds the reference and keeps what it loaded: the pipeline runs
// the FP32 reference once for every artifact of a model, and measures each GGUF artifact on the
// engine that validation loaded, rather than reading the file again.
#pragma once

#include <filesystem>
#include <optional>

#include "formats/gguf.h"
#include "slmkit/engine.h"
#include "slmkit/manifest.h"
#include "slmkit/task_eval.h"
#include "slmkit/validate.h"
#include "validate/reference.h"

namespace slmkit::validation {

struct LoadedGguf {
  gguf::File file;  // the parsed container (its bytes stay mapped)
  Engine engine;    // the model read from it, prepared
};

// `reference` null: the one ValidateOptions::reference names, else the artifact widened to F32.
// `loaded` (when given) receives the file and engine when the artifact loads.
ValidationReport validate_gguf(const std::filesystem::path& path, Reference* reference,
                               const ValidateOptions& options,
                               std::optional<LoadedGguf>* loaded = nullptr);
ValidationReport validate_onnx(const std::filesystem::path& path, Reference* reference,
                               const ValidateOptions& options);

// Adds the functional check "task_accuracy" to `report` for a caller that scored the task itself
// (the pipeline scores every model once, for its report): as ValidateOptions::min_accuracy_ratio
// describes, against `reference` on the same items.
void add_task_accuracy_check(ValidationReport& report, const TaskResult& artifact,
                             const TaskResult& reference, const std::string& reference_name,
                             std::optional<double> min_ratio);

// describe_artifact for a GGUF already read (file paths relative to `base`; `model_name` as
// there).
Manifest describe_gguf(const std::filesystem::path& path, const std::filesystem::path& base,
                       const gguf::File& file, const Model& model,
                       const std::string& model_name = "");

}  // namespace slmkit::validation
