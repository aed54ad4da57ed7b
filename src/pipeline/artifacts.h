// The pipeline's artifacts as typed values (format and precision as enums), where each lives in
// the output tree (artifact_names: the one place names are made), and building each one unless a
// complete one is already there (a re-run after a kill resumes; our writers are deterministic, so
// the bytes are the same either way).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "quant/presets.h"
#include "slmkit/export_onnx.h"
#include "slmkit/model.h"

namespace slmkit::pipeline {

enum class ArtifactFormat { gguf, onnx };

// A mixed-precision GGUF (`quantize -t auto`) under one budget: `--gguf auto:2091936` (file
// bytes), `auto:4.5bpw` (bits per weight of tensor data), `auto:120tps` (decode tokens/s
// predicted on this machine; the size then unbounded).
struct AutoBudget {
  enum class Kind { bytes, bpw, tps };
  Kind kind = Kind::bytes;
  double value = 0;
  bool operator==(const AutoBudget&) const = default;
};
// nullopt when `text` does not start with "auto:"; Error(invalid_input) for a malformed budget.
std::optional<AutoBudget> parse_auto_budget(const std::string& text);
std::string auto_budget_name(const AutoBudget& b);  // "auto-2091936B", "auto-4.5bpw", "auto-120tps"

// One artifact to build and measure: a GGUF of a quantization preset or of a measured mix, or one
// precision of the ONNX export folder.
struct ArtifactSpec {
  ArtifactFormat format = ArtifactFormat::gguf;
  std::variant<quant::Preset, OnnxPrecision, AutoBudget> precision = quant::Preset::F16;
  bool is_auto() const { return std::holds_alternative<AutoBudget>(precision); }
  quant::Preset gguf_preset() const { return std::get<quant::Preset>(precision); }
  OnnxPrecision onnx_precision() const { return std::get<OnnxPrecision>(precision); }
  const AutoBudget& auto_budget() const { return std::get<AutoBudget>(precision); }
};
std::string precision_name(const ArtifactSpec& spec);  // "Q4_K_M", "int8", "auto-4.5bpw"

// Everything an artifact is called, relative to the output folder.
struct ArtifactNames {
  std::string name;                // "NAME-Q8_0", "NAME_onnx (int8)": report rows, problems
  std::filesystem::path path;      // "NAME-Q8_0.gguf"; ONNX: the graph validated and scored
  std::filesystem::path built;     // what the build writes: the GGUF, or the ONNX folder
  std::string report_name;         // "NAME-Q8_0.gguf", "NAME_onnx-int8.onnx": its validation
                                   // report is validation_reports/STEM_FORMAT_validation.json
  std::filesystem::path manifest;  // "manifests/NAME-Q8_0.json", "manifests/NAME_onnx-int8.json"
};
ArtifactNames artifact_names(const std::string& base, const ArtifactSpec& spec);

// The name artifacts are named after: `given` when not empty, else the input's file stem or folder
// name, else config.name; anything other than letters, digits, '.', '-' and '_' becomes '_'.
std::string artifact_base_name(const Model& model, const std::filesystem::path& input,
                               const std::string& given = "");

std::filesystem::path onnx_folder(const std::string& base);  // "NAME_onnx"
// The graph of one precision and variant inside the folder: "onnx/model_int8.onnx".
std::filesystem::path onnx_graph_file(OnnxPrecision precision, OnnxVariant variant);

// Removes what a killed run left under temporary names ("X.partial-PID", files and folders) in
// `out` and its manifests/ and validation_reports/ folders. Returns how many it removed.
int remove_stale_temporaries(const std::filesystem::path& out);

struct BuildOutcome {
  bool reused = false;  // complete from an earlier run; nothing written
  double seconds = 0;
};

// `path` is complete when it exists: save_model only ever renames a finished file onto it.
BuildOutcome build_gguf(const Model& model, quant::Preset preset, const std::filesystem::path& path,
                        int n_threads);

// The same for a mix chosen by `quantize -t auto` on `calibration` text (also writes
// path.mix.json).
BuildOutcome build_auto_gguf(const Model& model, const AutoBudget& budget,
                             const std::string& calibration, const std::filesystem::path& path,
                             int n_threads);

// Complete when config.json and every requested graph are there (export_onnx renames a finished
// folder into place); otherwise the whole folder is exported again.
bool onnx_folder_complete(const std::filesystem::path& dir,
                          const std::vector<OnnxPrecision>& precisions,
                          const std::vector<OnnxVariant>& variants);
// `w8a8_scales` is called (only) when a w8a8 graph is exported: its static activation scales.
BuildOutcome build_onnx(const Model& model, const std::vector<OnnxPrecision>& precisions,
                        const std::vector<OnnxVariant>& variants, const std::filesystem::path& dir,
                        const std::function<std::map<std::string, float>()>& w8a8_scales);

}  // namespace slmkit::pipeline
