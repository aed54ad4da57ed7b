// ONNX Runtime as a peer: npm onnxruntime-node (which ships libonnxruntime 1.30) driven by a
// node script of ours (scripts/ort_runner.mjs) that this header starts as a child process and
// talks to through JSON files. Validation (`slmkit validate` on ONNX), the parity tests and
// `slmkit bench --vs ort` reach ONNX Runtime only through here. Everything throws slmkit::Error;
// Error(unsupported) carries the reason when node or the package is missing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace slmkit::peers {

class OrtPeer {
 public:
  static bool available();  // node found and onnxruntime-node loads; never throws
  static std::string unavailable_reason();
};

// Which graph(s) to run: the plain graph (no cache), the with-past graph (one pass for the
// prompt, then one per generated token) or the static prefill/decode pair.
enum class OrtMode { plain, past, static_cache };

struct OrtModelShape {  // from the export's config.json
  int64_t n_layer = 0, kv_heads = 0, head_dim = 0, max_length = 0;
  bool kv_f16 = false;  // fp16 / q4f16 graphs take float16 caches
};

struct OrtRunRequest {
  OrtMode mode = OrtMode::past;
  std::filesystem::path model;    // plain / past
  std::filesystem::path prefill;  // static
  std::filesystem::path decode;   // static
  OrtModelShape shape;
  std::vector<int32_t> tokens;  // the prompt
  // past / static: how the prompt is split into passes (the first through an empty cache, or
  // prefill; static decodes later chunks one token at a time). Empty: one pass.
  std::vector<int64_t> chunks;
  bool want_logits = false;  // logits of every prompt position [tokens.size(), vocab]
  int64_t greedy = 0;        // tokens to generate after the prompt (argmax)
  int n_threads = 1;
};

struct OrtRunResult {
  int64_t vocab = 0;
  std::vector<float> logits;  // [tokens.size(), vocab] when want_logits
  std::vector<int32_t> generated;
};

OrtRunResult ort_run(const OrtRunRequest& request);

struct OrtTimingRequest {
  OrtMode mode = OrtMode::past;
  std::filesystem::path model, prefill, decode;
  OrtModelShape shape;
  int64_t n_prompt = 0;  // 0: no prefill test
  int64_t n_gen = 0;     // 0: no decode test
  int repetitions = 5;
  bool warmup = true;
  int n_threads = 1;
};

struct OrtTimingResult {
  std::vector<double> prompt_ns;  // one per repetition: the whole prompt pass
  std::vector<double> gen_ns;     // one per repetition: n_gen single-token passes
  uint64_t peak_rss_bytes = 0;    // of the node process
};

// Times session.run inside node (process start and model load are not counted).
OrtTimingResult ort_time(const OrtTimingRequest& request);

// Decode speed of the graph `run` names, as validation reports it: one timed repetition (after a
// warmup) of n_gen single-token passes, in tokens per second; 0 where nothing was timed.
inline double ort_decode_tokens_per_second(const OrtRunRequest& run, int64_t n_gen, int n_threads) {
  OrtTimingRequest tr;
  tr.mode = run.mode;
  tr.model = run.model;
  tr.shape = run.shape;
  tr.n_gen = n_gen;
  tr.repetitions = 1;
  tr.n_threads = n_threads;
  const OrtTimingResult t = ort_time(tr);
  return t.gen_ns.empty() || t.gen_ns[0] <= 0 ? 0
                                              : static_cast<double>(n_gen) / (t.gen_ns[0] * 1e-9);
}

// Reads DIR/config.json (and the graph's inputs) into the shape ort_run needs. The cache type
// (kv_f16) depends on the graph: this reads the fp32 defaults and DIR/onnx/decode.onnx's
// max_length; ort_shape_of_graph reads them from one graph file.
OrtModelShape ort_shape_of_export(const std::filesystem::path& onnx_dir);
// The shape for one graph file: config.json beside it or one folder up, cache type and static
// cache length from the graph's own inputs/outputs.
OrtModelShape ort_shape_of_graph(const std::filesystem::path& graph);

}  // namespace slmkit::peers
