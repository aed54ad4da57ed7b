// Benchmarks in llama-bench's shape: a prompt-processing test (pp: n_prompt tokens in one pass
// from an empty cache) and a text-generation test (tg: n_gen single-token passes), each repeated
// and reported as mean +- std tokens/s, for our engine and, on the same files, for llama.cpp
// (a native build of the bundled source when present, else the prebuilt libllama from npm; each
// row names the build) and ONNX Runtime (npm onnxruntime-node, on our ONNX export).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/dtype.h"

namespace slmkit {

enum class BenchBackend { slmkit, llama_cpp, onnxruntime };
const char* bench_backend_name(BenchBackend backend);  // "slmkit", "llama.cpp", "onnxruntime"
// Also accepts "ort" and "llama_cpp"; Error(invalid_input) otherwise.
BenchBackend bench_backend_from_name(const std::string& name);

struct BenchOptions {
  int64_t n_prompt = 512;  // 0: no pp test
  int64_t n_gen = 128;     // 0: no tg test
  int repetitions = 5;
  int n_threads = 0;  // 0: hardware concurrency
  DType kv_type = DType::F16;
  bool warmup = true;  // one untimed run of each test first, as llama-bench does
};

// One test of one model on one backend; field names follow llama-bench's JSON output.
struct BenchRow {
  BenchBackend backend = BenchBackend::slmkit;
  std::string model_filename;
  std::string model_type;   // llama-bench style: "llama ?B Q4_K - Medium"
  uint64_t model_size = 0;  // bytes of tensor data
  uint64_t model_n_params = 0;
  int64_t n_prompt = 0;
  int64_t n_gen = 0;
  int n_threads = 0;
  std::string type_k = "f16";
  std::vector<double> samples_ns;  // one per repetition
  std::vector<double> samples_ts;
  double avg_ns = 0, stddev_ns = 0, avg_ts = 0, stddev_ts = 0;
  // Ours, beyond llama-bench:
  double ms_per_token = 0;
  double ttft_ms = 0;  // pp: time to the first token's logits (whole prompt pass); tg: one token
  uint64_t peak_rss_bytes = 0;  // of the process after the test (VmHWM), or the ORT child's
  // Weight bytes one decode step reads (every matrix but the embedding table, which is read one
  // row at a time unless it doubles as the output head); slmkit rows only, else 0.
  uint64_t bytes_per_token = 0;
  double copy_bandwidth = 0;  // bytes/s from measure_copy_bandwidth when asked for, else 0
  // Peer rows: the build measured (llama.cpp: native or prebuilt, GGML_NATIVE, commit, library
  // path, CPU backend and its features); "" for slmkit.
  std::string backend_build;
  std::string test() const;  // "pp512", "tg128"

  nlohmann::ordered_json to_json() const;
};

// Our engine on a model file/folder (any input format).
std::vector<BenchRow> bench_slmkit(const std::filesystem::path& model, const BenchOptions& options);
// llama.cpp on a GGUF; Error(unsupported) with the reason when the peer library is absent.
std::vector<BenchRow> bench_llama_cpp(const std::filesystem::path& gguf,
                                      const BenchOptions& options);
// ONNX Runtime on an exported folder (its onnx/model_with_past*.onnx, precision chosen by
// `precision`: "fp32", "fp16", "int8", "q4", "q4f16"); Error(unsupported) when node or
// onnxruntime-node is absent.
std::vector<BenchRow> bench_onnxruntime(const std::filesystem::path& onnx_dir,
                                        const std::string& precision, const BenchOptions& options);
// The ONNX precision that stands beside a model file's weight type (general.file_type) when their
// speeds are compared: Q8_0 is our int8 per-channel, Q4_0 / Q4_1 our q4; anything else fp32.
std::string onnx_counterpart_precision(const std::filesystem::path& model);

// Markdown table (llama-bench's columns: model, size, params, backend, threads, test, t/s),
// CSV, or JSON array of rows.
std::string format_bench_markdown(const std::vector<BenchRow>& rows);
std::string format_bench_csv(const std::vector<BenchRow>& rows);
nlohmann::ordered_json bench_rows_json(const std::vector<BenchRow>& rows);
BenchRow bench_row_from_json(const nlohmann::json& row);  // Error(invalid_input) naming the field
// Markdown table of slmkit's t/s over every other backend's, per model file and test ("" when
// there is nothing to compare).
std::string format_bench_ratios(const std::vector<BenchRow>& rows);
// One line per distinct peer build among the rows ("llama.cpp: llama.cpp native build (...)"),
// "" when there is none.
std::string format_bench_builds(const std::vector<BenchRow>& rows);

// A deployment manifest's "performance" block from the pp and tg rows of one artifact, with the
// pipeline's keys: prefill_tokens_per_sec, tokens_per_sec, latency_ms_per_token_mean / _std
// (per decoded token over the tg repetitions), peak_rss_bytes, and "measured_with" (backend,
// test sizes, repetitions, threads).
nlohmann::ordered_json bench_performance_json(const std::vector<BenchRow>& rows);

// Runs a child process (argv[0] is the program, e.g. /proc/self/exe with "bench ... -o json")
// that prints a JSON array of rows on stdout, and returns them: each backend measured in its own
// process gives a peak RSS (VmHWM) of that backend alone. Its stderr passes through; a failing
// child is Error(unsupported) when it exited with 3 (the backend is absent), else
// Error(invalid_input), carrying its last stderr line where it printed one.
std::vector<BenchRow> run_bench_child(const std::vector<std::string>& argv);

// Generating n_gen tokens after an n_prompt-token prompt with the KV cache (one prompt pass, then
// n_gen - 1 single-token steps) against recomputing the whole prefix for every token (n_gen
// passes over n_prompt + i tokens from an empty cache), as a model without a cache generates.
// Both feed the same token ids, so both do the work of the same sequence. Medians over
// options.repetitions (after one warm-up of each when options.warmup).
struct KvCacheComparison {
  int64_t n_prompt = 0, n_gen = 0;
  int n_threads = 0;
  double cached_ns = 0;
  double recompute_ns = 0;
  double speedup() const { return cached_ns > 0 ? recompute_ns / cached_ns : 0.0; }
  nlohmann::ordered_json to_json() const;
};
KvCacheComparison bench_kv_cache_vs_recompute(const std::filesystem::path& model,
                                              const BenchOptions& options);

// Memory-copy bandwidth in bytes/s (median of several copies of a buffer much larger than the
// last-level cache), for the bandwidth bound of decode.
double measure_copy_bandwidth(int n_threads);

}  // namespace slmkit
