// Where the pipeline's artifacts live in its output tree, and building each one unless a complete
// one is already there (a re-run after a kill resumes; our writers are deterministic, so the bytes
// are the same either way).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "slmkit/export_onnx.h"
#include "slmkit/model.h"

namespace slmkit::pipeline {

// The name artifacts are named after: `given` when not empty, else the input's file stem or folder
// name, else config.name; anything other than letters, digits, '.', '-' and '_' becomes '_'.
std::string artifact_base_name(const Model& model, const std::filesystem::path& input,
                               const std::string& given = "");

std::string gguf_artifact_name(const std::string& base, const std::string& type);  // "NAME-Q8_0"
std::filesystem::path gguf_artifact_file(const std::string& base, const std::string& type);
std::filesystem::path onnx_folder(const std::string& base);  // "NAME_onnx"
// The graph of one precision and variant inside the folder: "onnx/model_int8.onnx".
std::filesystem::path onnx_graph_file(OnnxPrecision precision, OnnxVariant variant);
// The graph the pipeline validates and scores perplexity on: the plain one (every position's
// logits in one pass, no cache to carry).
inline std::filesystem::path pipeline_graph(OnnxPrecision precision) {
  return onnx_graph_file(precision, OnnxVariant::plain);
}

// Removes what a killed run left under temporary names ("X.partial-PID", files and folders) in
// `out` and its manifests/ and validation_reports/ folders. Returns how many it removed.
int remove_stale_temporaries(const std::filesystem::path& out);

struct BuildOutcome {
  bool reused = false;  // complete from an earlier run; nothing written
  double seconds = 0;
};

// `path` is complete when it exists: save_model only ever renames a finished file onto it.
BuildOutcome build_gguf(const Model& model, const std::string& type,
                        const std::filesystem::path& path, int n_threads);

// Complete when config.json and every requested graph are there (export_onnx renames a finished
// folder into place); otherwise the whole folder is exported again.
bool onnx_folder_complete(const std::filesystem::path& dir,
                          const std::vector<OnnxPrecision>& precisions,
                          const std::vector<OnnxVariant>& variants);
BuildOutcome build_onnx(const Model& model, const std::vector<OnnxPrecision>& precisions,
                        const std::vector<OnnxVariant>& variants, const std::filesystem::path& dir);

}  // namespace slmkit::pipeline
