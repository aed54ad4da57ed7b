// The main job: from one model, every requested artifact (GGUF types, ONNX precisions), each
// validated, benchmarked and described by a manifest, and a report (Markdown + HTML).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slmkit {

struct PipelineOptions {
  std::filesystem::path model;  // any input format
  std::filesystem::path out;
  std::vector<std::string> gguf = {"F16", "Q8_0", "Q4_K_M"};  // types / presets; empty: none
  std::vector<std::string> onnx = {"fp32", "int8", "q4"};     // precisions; empty: none
  std::optional<std::filesystem::path> eval_text;             // perplexity text
  int64_t ppl_ctx = 128;
  int64_t ppl_chunks = 8;
  int64_t bench_prompt = 128;
  int64_t bench_gen = 32;
  int bench_repetitions = 3;
  int n_threads = 0;
  double min_tokens_per_second = 10.0;
  bool synthetic = false;  // the model was made by `slmkit synth`; the report says so
  std::function<void(const std::string& line)> on_progress;
};

struct PipelineArtifact {
  std::string name;    // "stories260K-Q4_K_M" / "stories260K_onnx (int8)"
  std::string format;  // "gguf" / "onnx"
  std::string precision;
  std::filesystem::path path;  // relative to out
  uint64_t size_bytes = 0;
  bool valid = false;
  std::string failed_check;  // first failed check with its numbers, "" when valid
  std::optional<double> perplexity;
  double prefill_tps = 0, decode_tps = 0;
  double latency_ms_mean = 0, latency_ms_std = 0;  // per decoded token
  uint64_t peak_rss_bytes = 0;
  bool baseline = false;  // the FP32 reference
};

struct PipelineResult {
  std::vector<PipelineArtifact> artifacts;
  bool passed = false;
  double seconds = 0;
};

// Throws Error for bad options; a failed validation is recorded (passed = false), the run goes on
// and the caller exits non-zero.
PipelineResult run_pipeline(const PipelineOptions& options);

}  // namespace slmkit
