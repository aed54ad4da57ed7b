// ONNX validation: each graph through ONNX's checker and strict shape inference, its opset, its
// inputs and outputs against the optimum conventions the exporter follows (export_onnx.h), its
// external data; then the graph run in ONNX Runtime (the ORT peer) against the FP32 reference.
#include <algorithm>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "peers/ort_peer.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/export_onnx.h"
#include "slmkit/tokenizer.h"
#include "validate/checks.h"

namespace slmkit::validation {

namespace fs = std::filesystem;

namespace {

// ONNX element types by size in bytes (0: not a fixed-size type).
uint64_t elem_bytes(int32_t t) {
  switch (t) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
      return 4;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
      return 2;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      return 1;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::DOUBLE:
      return 8;
    default:
      return 0;
  }
}

// Every external initializer: its file beside the graph, its range inside that file, its length
// what dims x type need.
void external_data_check(const onnx::ModelProto& proto, const fs::path& graph,
                         const std::string& tag, Checks& checks) {
  int n_external = 0, bad = 0;
  std::string first;
  std::map<std::string, uint64_t> sizes;
  for (const onnx::TensorProto& t : proto.graph().initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
    ++n_external;
    std::string location;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    std::string problem;
    for (const auto& kv : t.external_data()) {
      try {
        if (kv.key() == "location") location = kv.value();
        if (kv.key() == "offset") offset = std::stoull(kv.value());
        if (kv.key() == "length") length = std::stoull(kv.value()), has_length = true;
      } catch (const std::exception&) {
        problem = fmt::format("external_data {} is \"{}\", not a number", kv.key(), kv.value());
      }
    }
    uint64_t expected = elem_bytes(t.data_type());
    for (int64_t d : t.dims()) expected *= static_cast<uint64_t>(d);
    if (!has_length) length = expected;
    const fs::path file = graph.parent_path() / location;
    if (!problem.empty()) {
      // an unreadable number, recorded above
    } else if (location.empty() || fs::path(location).is_absolute() ||
               location.find("..") != std::string::npos) {
      problem = fmt::format("location \"{}\" is not a file beside the graph", location);
    } else if (!fs::is_regular_file(file)) {
      problem = fmt::format("{} is missing", location);
    } else {
      if (!sizes.count(location)) sizes[location] = fs::file_size(file);
      const uint64_t size = sizes[location];
      if (length > size || offset > size - length) {
        problem = fmt::format("bytes {}..{} lie past the end of {} ({} bytes)", offset,
                              offset + length, location, size);
      } else if (expected != 0 && length != expected) {
        problem = fmt::format("length {} but dims x type need {}", length, expected);
      }
    }
    if (!problem.empty() && bad++ == 0) first = t.name() + ": " + problem;
  }
  checks.measure(
      "onnx.external_data:" + tag, bad, "==", 0,
      n_external == 0 ? "no external data"
      : bad ? fmt::format("{} of {} external tensors bad; first {}", bad, n_external, first)
            : fmt::format("{} external tensors present and in bounds", n_external));
}

struct IoSpec {
  std::string name;
  int32_t type;
  std::vector<int64_t> dims;  // -1: must be symbolic; > 0: must equal; -2: any fixed value > 0
};

std::vector<IoSpec> expected_inputs(const artifact::OnnxGraph& g, const ModelConfig& c,
                                    int32_t kv) {
  const int64_t G = c.n_head_kv > 0 ? c.n_head_kv : c.n_head;
  const int64_t D = c.head_dim > 0 ? c.head_dim : c.n_embd / std::max<int64_t>(c.n_head, 1);
  const bool decode = g.variant == "decode", past = g.variant == "with_past";
  std::vector<IoSpec> in = {
      {"input_ids", onnx::TensorProto::INT64, {-1, decode ? 1 : -1}},
      {"attention_mask", onnx::TensorProto::INT64, {-1, decode ? -2 : -1}},
      {"position_ids", onnx::TensorProto::INT64, {-1, decode ? 1 : -1}},
  };
  if (decode) in.push_back({"cache_position", onnx::TensorProto::INT64, {1}});
  if (decode || past) {
    for (int64_t l = 0; l < c.n_layer; ++l) {
      for (const char* k : {"key", "value"})
        in.push_back(
            {fmt::format("past_key_values.{}.{}", l, k), kv, {-1, G, decode ? -2 : -1, D}});
    }
  }
  return in;
}

std::vector<IoSpec> expected_outputs(const artifact::OnnxGraph& g, const ModelConfig& c,
                                     int32_t kv) {
  const int64_t G = c.n_head_kv > 0 ? c.n_head_kv : c.n_head;
  const int64_t D = c.head_dim > 0 ? c.head_dim : c.n_embd / std::max<int64_t>(c.n_head, 1);
  const bool decode = g.variant == "decode";
  std::vector<IoSpec> out = {
      {"logits", onnx::TensorProto::FLOAT, {-1, decode ? 1 : -1, c.vocab_size}}};
  if (g.variant != "plain") {
    const bool fixed = decode || g.variant == "prefill";
    for (int64_t l = 0; l < c.n_layer; ++l) {
      for (const char* k : {"key", "value"})
        out.push_back({fmt::format("present.{}.{}", l, k), kv, {-1, G, fixed ? -2 : -1, D}});
    }
  }
  return out;
}

void compare_io(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& have,
                const std::vector<IoSpec>& want, const char* what,
                std::vector<std::string>& problems) {
  std::map<std::string, const onnx::ValueInfoProto*> by_name;
  for (const auto& v : have) by_name[v.name()] = &v;
  for (const IoSpec& s : want) {
    auto it = by_name.find(s.name);
    if (it == by_name.end()) {
      problems.push_back(fmt::format("{} {} missing", what, s.name));
      continue;
    }
    const auto& t = it->second->type().tensor_type();
    if (t.elem_type() != s.type) {
      problems.push_back(fmt::format("{} {}: element type {}, expected {}", what, s.name,
                                     onnx::TensorProto::DataType_Name(t.elem_type()),
                                     onnx::TensorProto::DataType_Name(s.type)));
    }
    if (t.shape().dim_size() != static_cast<int>(s.dims.size())) {
      problems.push_back(fmt::format("{} {}: rank {}, expected {}", what, s.name,
                                     t.shape().dim_size(), s.dims.size()));
      continue;
    }
    for (size_t i = 0; i < s.dims.size(); ++i) {
      const auto& d = t.shape().dim(static_cast<int>(i));
      const int64_t w = s.dims[i];
      const bool ok = w == -1   ? !d.has_dim_value()
                      : w == -2 ? d.has_dim_value() && d.dim_value() > 0
                                : d.has_dim_value() && d.dim_value() == w;
      if (!ok) {
        problems.push_back(fmt::format(
            "{} {}: dim {} is {}, expected {}", what, s.name, i,
            d.has_dim_value() ? std::to_string(d.dim_value()) : "'" + d.dim_param() + "'",
            w == -1   ? std::string("dynamic")
            : w == -2 ? "fixed"
                      : std::to_string(w)));
      }
    }
  }
}

}  // namespace

bool onnx_format_checks(const artifact::Info& info, Checks& checks) {
  std::optional<ModelConfig> config;
  try {
    config = artifact::onnx_config(info);
    checks.expect("onnx.config", true,
                  fmt::format("{}: {} {} layers, vocab {}", info.config_json.string(), config->arch,
                              config->n_layer, config->vocab_size));
  } catch (const Error& e) {
    checks.expect("onnx.config", false, e.what());
  }
  bool all_ok = true;
  for (const artifact::OnnxGraph& g : info.graphs) {
    const std::string tag = g.path.filename().string();
    onnx::ModelProto proto;
    {
      std::ifstream in(g.path, std::ios::binary);
      const bool ok = in && proto.ParseFromIstream(&in);
      checks.expect("onnx.parse:" + tag, ok,
                    ok ? fmt::format("{} nodes, {} initializers", proto.graph().node_size(),
                                     proto.graph().initializer_size())
                       : "not a readable ONNX ModelProto");
      if (!ok) {
        all_ok = false;
        continue;
      }
    }
    external_data_check(proto, g.path, tag, checks);
    try {
      onnx::checker::check_model(proto);
      checks.expect("onnx.checker:" + tag, true, "onnx::checker::check_model");
    } catch (const std::exception& e) {
      checks.expect("onnx.checker:" + tag, false, e.what());
      all_ok = false;
    }
    try {
      onnx::ModelProto copy = proto;
      onnx::ShapeInferenceOptions opts{true, 1, true};  // strict: errors are errors
      onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), opts);
      checks.expect("onnx.shape_inference:" + tag, true, "strict shape inference");
    } catch (const std::exception& e) {
      checks.expect("onnx.shape_inference:" + tag, false, e.what());
      all_ok = false;
    }
    int64_t opset = -1;
    for (const auto& o : proto.opset_import()) {
      if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
    }
    // ONNX 1.12's checker knows opsets up to 17; the exporter writes exactly that.
    checks.measure(
        "onnx.opset:" + tag, static_cast<double>(opset), "<=", static_cast<double>(kOnnxOpset),
        fmt::format("default-domain opset {}, IR version {}", opset, proto.ir_version()));
    if (config && g.variant != "other") {
      const int32_t kv = g.precision == "fp16" || g.precision == "q4f16"
                             ? onnx::TensorProto::FLOAT16
                             : onnx::TensorProto::FLOAT;
      std::vector<std::string> problems;
      compare_io(proto.graph().input(), expected_inputs(g, *config, kv), "input", problems);
      compare_io(proto.graph().output(), expected_outputs(g, *config, kv), "output", problems);
      std::string detail = fmt::format("{} graph, {}", g.variant, g.precision);
      for (size_t i = 0; i < std::min<size_t>(problems.size(), 4); ++i)
        detail += "; " + problems[i];
      checks.measure("onnx.io:" + tag, static_cast<double>(problems.size()), "==", 0, detail);
    }
  }
  return all_ok && config.has_value();
}

void onnx_functional_checks(const artifact::Info& info, const std::string& precision,
                            const std::string& suffix, Reference* reference,
                            const ValidateOptions& options, Checks& checks) {
  PrecisionBounds b = bounds_for(precision);
  const artifact::OnnxGraph* graph = artifact::main_graph(info, precision);
  if (!graph) {
    checks.expect("functional.loads" + suffix, false,
                  "no with-past or plain graph of this precision to run");
    return;
  }
  if (!peers::OrtPeer::available()) {
    checks.expect("functional.loads" + suffix, false,
                  "ONNX Runtime peer not available: " + peers::OrtPeer::unavailable_reason());
    return;
  }
  FunctionalResult r;
  std::vector<int32_t> prompt;
  peers::OrtRunRequest req;
  try {
    // The folder's own tokenizer; a bare graph falls back to the reference's.
    const bool own = !info.root.empty() && (fs::exists(info.root / "tokenizer.json") ||
                                            fs::exists(info.root / "tokenizer.model"));
    if (!own && !options.reference) {
      checks.expect(
          "functional.loads" + suffix, false,
          fmt::format("no tokenizer.json or tokenizer.model in {} to encode the prompt "
                      "with; give --reference to use the reference's",
                      info.root.empty() ? info.path.parent_path().string() : info.root.string()));
      return;
    }
    const fs::path tok_source = own ? info.root : *options.reference;
    prompt = Tokenizer::from_path(tok_source).encode(options.prompt);
    req.mode = graph->variant == "with_past" ? peers::OrtMode::past : peers::OrtMode::plain;
    req.model = graph->path;
    req.shape = peers::ort_shape_of_graph(graph->path);
    req.n_threads = options.n_threads;
    req.tokens = prompt;
    req.greedy = options.n_compare;
    r.artifact_greedy = peers::ort_run(req).generated;
    checks.expect("functional.loads" + suffix, true,
                  fmt::format("ONNX Runtime runs {} ({} mode); prompt \"{}\" is {} tokens",
                              graph->path.filename().string(),
                              req.mode == peers::OrtMode::past ? "past" : "plain", options.prompt,
                              prompt.size()));
  } catch (const Error& e) {
    checks.expect("functional.loads" + suffix, false, e.what());
    return;
  }
  try {
    const artifact::OnnxGraph* fp32 = artifact::main_graph(info, "fp32");
    std::optional<Engine> reference_engine;
    std::optional<Reference> own_reference;
    if (!reference && options.reference) {
      reference_engine.emplace(load_model(*options.reference));
      own_reference.emplace(*reference_engine, options.reference->filename().string(),
                            options.n_compare, options.n_threads);
      reference = &*own_reference;
    }
    if (reference) {
      const ReferenceRun& run = reference->run(prompt);
      r.reference_greedy = run.greedy;
      r.reference_logits = run.logits;
      r.reference_name = reference->name();
      b = reference->bounds(precision);
    } else {
      // No reference model: the folder's fp32 graph in ONNX Runtime, else the graph itself.
      const artifact::OnnxGraph* ref_graph = fp32 ? fp32 : graph;
      peers::OrtRunRequest rr = req;
      rr.model = ref_graph->path;
      rr.mode = ref_graph->variant == "with_past" ? peers::OrtMode::past : peers::OrtMode::plain;
      rr.shape = peers::ort_shape_of_graph(ref_graph->path);
      r.reference_greedy = ref_graph == graph ? r.artifact_greedy : peers::ort_run(rr).generated;
      rr.tokens.insert(rr.tokens.end(), r.reference_greedy.begin(), r.reference_greedy.end());
      rr.greedy = 0;
      rr.want_logits = true;
      r.reference_logits = peers::ort_run(rr).logits;
      r.reference_name = ref_graph->path.filename().string() +
                         (ref_graph == graph ? " itself (no --reference, no fp32 graph)" : "");
    }
    peers::OrtRunRequest lr = req;
    lr.tokens.insert(lr.tokens.end(), r.reference_greedy.begin(), r.reference_greedy.end());
    lr.greedy = 0;
    lr.want_logits = true;
    const peers::OrtRunResult art = peers::ort_run(lr);
    r.artifact_logits = art.logits;
    r.vocab = art.vocab;
    r.tokens_per_second =
        peers::ort_decode_tokens_per_second(req, options.n_compare, options.n_threads);
  } catch (const Error& e) {
    checks.expect("functional.run" + suffix, false, e.what());
    return;
  }
  record_functional(r, b, options, suffix, checks);
}

}  // namespace slmkit::validation
