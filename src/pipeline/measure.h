// Measuring one artifact for the pipeline: validation, perplexity, speed and its manifest, each
// recorded on the PipelineArtifact (a step that cannot run records why instead of stopping the
// run).
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "slmkit/export_onnx.h"
#include "slmkit/manifest.h"
#include "slmkit/pipeline.h"

namespace slmkit::pipeline {

struct MeasureContext {
  const PipelineOptions* options = nullptr;
  std::filesystem::path out;
  std::optional<std::vector<int32_t>> eval_tokens;  // tokenized once with the input's vocabulary
  bool add_bos = false;
  int32_t bos_id = -1;
};

// Our engine on a model file (GGUF artifact or the input itself).
void measure_engine_perplexity(const MeasureContext& ctx, const std::filesystem::path& model,
                               PipelineArtifact& a);
void measure_engine_speed(const MeasureContext& ctx, const std::filesystem::path& model,
                          PipelineArtifact& a);

// ONNX Runtime on one precision of the export folder.
void measure_onnx_perplexity(const MeasureContext& ctx, const std::filesystem::path& export_dir,
                             OnnxPrecision precision, PipelineArtifact& a);
void measure_onnx_speed(const MeasureContext& ctx, const std::filesystem::path& export_dir,
                        OnnxPrecision precision, PipelineArtifact& a);

// Validates `path` against the input model, writes validation_reports/STEM_*_validation.json
// (STEM: the stem of `report_name`, a file name with its extension, so that dots inside a model's
// name survive), records the verdict and every failed check, and returns the report.
ValidationReport validate_into(const MeasureContext& ctx, const std::filesystem::path& path,
                               const std::string& report_name, PipelineArtifact& a);

// Validates a GGUF artifact again through another build of slmkit: `runner` is a shell command
// prefix that runs it (e.g. "scripts/cross.sh aarch64 exec --" for the aarch64 build under
// qemu-user). Its report (written under validation_reports/, named for the architecture it ran
// on) says where it ran. The speed floor is dropped: an emulator's speed says nothing about the
// target's. Error when the runner cannot run or prints no report.
ValidationReport validate_through(const MeasureContext& ctx, const std::string& runner,
                                  const std::filesystem::path& path,
                                  const std::string& report_name);

// The manifest's performance block from what was measured.
nlohmann::ordered_json performance_json(const PipelineArtifact& a);

// Keeps the files of one ONNX precision (its graphs and their external data, and the folder's
// config and tokenizer files) in a manifest that describes the whole export folder.
void restrict_to_precision(Manifest& m, const std::filesystem::path& folder,
                           OnnxPrecision precision);

// "a.b: message" shortened to one line for a table cell.
std::string one_line(const std::string& text, size_t max_chars = 160);

}  // namespace slmkit::pipeline
