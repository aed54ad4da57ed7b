#include "pipeline/artifacts.h"

#include <chrono>
#include <system_error>

#include "slmkit/quantize.h"

namespace slmkit::pipeline {
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string file_safe(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) c = '_';
  }
  return s;
}

}  // namespace

std::string artifact_base_name(const Model& model, const fs::path& input,
                               const std::string& given) {
  if (!given.empty()) return file_safe(given);
  // The file or folder name the user chose: GGUF converters often set general.name to the
  // architecture ("llama"), which would name every model's artifacts alike.
  fs::path p = input;
  if (p.filename().empty()) p = p.parent_path();  // "folder/"
  std::string name = fs::is_directory(p) ? p.filename().string() : p.stem().string();
  if (name.empty() || name == "." || name == "..") name = model.config.name;
  if (name.empty()) name = "model";
  return file_safe(name);
}

std::string gguf_artifact_name(const std::string& base, const std::string& type) {
  return base + "-" + type;
}

fs::path gguf_artifact_file(const std::string& base, const std::string& type) {
  return gguf_artifact_name(base, type) + ".gguf";
}

fs::path onnx_folder(const std::string& base) {
  return base + "_onnx";
}

fs::path onnx_graph_file(OnnxPrecision precision, OnnxVariant variant) {
  return fs::path("onnx") / onnx_graph_file_name(variant, precision);
}

int remove_stale_temporaries(const fs::path& out) {
  int removed = 0;
  for (const fs::path& dir : {out, out / "manifests", out / "validation_reports"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().find(".partial-") != std::string::npos) {
        stale.push_back(entry.path());
      }
    }
    for (const fs::path& p : stale) {
      fs::remove_all(p, ec);
      if (!ec) ++removed;
    }
  }
  return removed;
}

BuildOutcome build_gguf(const Model& model, const std::string& type, const fs::path& path,
                        int n_threads) {
  const auto start = std::chrono::steady_clock::now();
  BuildOutcome outcome;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    outcome.reused = true;
    return outcome;
  }
  QuantizeOptions options;
  options.type = type;
  options.n_threads = n_threads;
  // A model that is already quantized (a Q8_0 GGUF as input) is dequantized first, as llama.cpp's
  // --allow-requantize does; the report shows the input as the baseline, so this is visible.
  options.allow_requantize = true;
  save_model(quantize_model(model, options), path, ModelFormat::gguf);
  outcome.seconds = seconds_since(start);
  return outcome;
}

bool onnx_folder_complete(const fs::path& dir, const std::vector<OnnxPrecision>& precisions,
                          const std::vector<OnnxVariant>& variants) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return false;
  for (OnnxPrecision p : precisions) {
    for (OnnxVariant v : variants) {
      if (!fs::is_regular_file(dir / onnx_graph_file(p, v), ec)) return false;
    }
  }
  return true;
}

BuildOutcome build_onnx(const Model& model, const std::vector<OnnxPrecision>& precisions,
                        const std::vector<OnnxVariant>& variants, const fs::path& dir) {
  const auto start = std::chrono::steady_clock::now();
  BuildOutcome outcome;
  if (onnx_folder_complete(dir, precisions, variants)) {
    outcome.reused = true;
    return outcome;
  }
  OnnxExportOptions options;
  options.precisions = precisions;
  options.variants = variants;
  export_onnx(model, dir, options);
  outcome.seconds = seconds_since(start);
  return outcome;
}

}  // namespace slmkit::pipeline
