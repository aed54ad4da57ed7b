// ONNX Runtime on our export's with-past graph, through the ORT peer's timing mode (node child:
// session.run timed inside node, its own peak RSS), in the same row shape as slmkit's.
#include <thread>

#include <fmt/format.h>

#include "bench/bench_stats.h"
#include "core/fail.h"
#include "peers/ort_peer.h"
#include "quant/llama_ftype.h"
#include "slmkit/export_onnx.h"
#include "slmkit/model.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

// Bytes of the graph and its external data, the closest ORT has to "model size".
uint64_t graph_bytes(const fs::path& graph) {
  uint64_t n = fs::file_size(graph);
  const fs::path data = graph.string() + "_data";
  if (fs::exists(data)) n += fs::file_size(data);
  return n;
}

}  // namespace

std::string onnx_counterpart_precision(const fs::path& model) {
  const Model m = load_model(model);  // mapped, not read: only the metadata is looked at
  const auto& meta = m.source.metadata;
  if (!meta.is_object() || !meta.contains("general.file_type")) return "fp32";
  const auto& ftype = meta["general.file_type"];
  if (!ftype.is_number_integer()) return "fp32";
  using quant::LlamaFtype;
  switch (static_cast<LlamaFtype>(ftype.get<int32_t>())) {
    case LlamaFtype::Q8_0:
      return "int8";
    case LlamaFtype::Q4_0:
    case LlamaFtype::Q4_1:
      return "q4";
    default:
      return "fp32";
  }
}

std::vector<BenchRow> bench_onnxruntime(const fs::path& onnx_dir, const std::string& precision,
                                        const BenchOptions& options) {
  if (options.n_prompt < 0 || options.n_gen < 0 || options.repetitions < 1) {
    fail_invalid("bench: -p {} and -n {} must be >= 0 and -r {} >= 1", options.n_prompt,
                 options.n_gen, options.repetitions);
  }
  OnnxPrecision p = OnnxPrecision::fp32;
  try {
    p = parse_onnx_precision(precision);
  } catch (const Error&) {
    fail_invalid("ORT precision '{}': expected fp32, fp16, int8, w8a8, q4 or q4f16", precision);
  }
  if (!peers::OrtPeer::available()) {
    fail_unsupported("ONNX Runtime is not available: {}", peers::OrtPeer::unavailable_reason());
  }
  const fs::path graph = onnx_dir / "onnx" / onnx_graph_file_name(OnnxVariant::with_past, p);
  if (!fs::exists(graph)) {
    fail_invalid(
        "{}: no such graph (export it with `slmkit export onnx MODEL -o {} --variant "
        "with_past --precision {}`)",
        graph.string(), onnx_dir.string(), precision);
  }
  peers::OrtTimingRequest req;
  req.mode = peers::OrtMode::past;
  req.model = graph;
  req.shape = peers::ort_shape_of_graph(graph);
  req.n_prompt = options.n_prompt;
  req.n_gen = options.n_gen;
  req.repetitions = options.repetitions;
  req.warmup = options.warmup;
  req.n_threads = options.n_threads > 0 ? options.n_threads
                                        : static_cast<int>(std::thread::hardware_concurrency());
  const peers::OrtTimingResult t = peers::ort_time(req);

  BenchRow base;
  base.backend = BenchBackend::onnxruntime;
  base.model_filename = graph.string();
  base.model_type = "onnx " + precision;
  base.model_size = graph_bytes(graph);
  base.n_threads = req.n_threads;
  base.type_k = req.shape.kv_f16 ? "f16" : "f32";
  base.peak_rss_bytes = t.peak_rss_bytes;
  std::vector<BenchRow> rows;
  for (const bool prompt : {true, false}) {
    const int64_t n = prompt ? options.n_prompt : options.n_gen;
    if (n <= 0) continue;
    BenchRow row = base;
    (prompt ? row.n_prompt : row.n_gen) = n;
    row.samples_ns = prompt ? t.prompt_ns : t.gen_ns;
    bench::finish_row(row);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace slmkit
