// The ONNX Runtime peer: requests go to scripts/ort_runner.mjs as a JSON file, answers come back
// as one JSON line on its stdout and, for logits, a raw float32 file. A child process per request
// keeps ONNX Runtime's threads and allocator out of our process, so its timings and peak RSS are
// its own.
#include "peers/ort_peer.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <onnx/onnx_pb.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "formats/model_io.h"
#include "slmkit/files.h"
#include "slmkit/platform.h"

extern char** environ;

#ifndef SLMKIT_ORT_RUNNER_DEFAULT
#define SLMKIT_ORT_RUNNER_DEFAULT ""
#endif

namespace slmkit::peers {
namespace {

namespace fs = std::filesystem;

fs::path runner_script() {
  if (const char* env = std::getenv("SLMKIT_ORT_RUNNER"); env && *env) return env;
  return SLMKIT_ORT_RUNNER_DEFAULT;
}

std::string node_binary() {
  if (const char* env = std::getenv("SLMKIT_NODE"); env && *env) return env;
  return "node";
}

// A scratch folder for one request, removed when the request is done.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("slmkit-ort-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::error_code ec;
    fs::remove_all(path, ec);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct ChildResult {
  int status = -1;  // exit code, or 128 + signal
  std::string out, err;
};

// Runs node with stdout and stderr to files (no shell, so paths need no quoting).
ChildResult run_node(const std::vector<std::string>& args, const fs::path& scratch) {
  const fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  std::vector<std::string> argv_s = {node_binary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ChildResult r;
  if (rc != 0) {
    r.err = fmt::format("cannot start {}: {}", argv_s[0], std::strerror(rc));
    return r;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail_io("ORT peer: waitpid: {}", std::strerror(errno));
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = fs::exists(out) ? read_text_file(out) : std::string();
  r.err = fs::exists(err) ? read_text_file(err) : std::string();
  return r;
}

struct Probe {
  bool ok = false;
  std::string reason;
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    // Under qemu-user node would still run natively on the host: its numbers would be the
    // host's, not this architecture's, so an emulated slmkit has no ORT peer.
    if (const Platform here = current_platform(); here.how != "native") {
      r.reason = fmt::format("slmkit ({}) runs under {}; ONNX Runtime would run on the host",
                             here.arch, here.how);
      return r;
    }
    try {
      const fs::path script = runner_script();
      if (script.empty() || !fs::exists(script)) {
        r.reason = "ORT runner script not found at '" + script.string() +
                   "' (set SLMKIT_ORT_RUNNER to scripts/ort_runner.mjs)";
        return r;
      }
      ScratchDir scratch;
      const ChildResult c = run_node({script.string(), "--probe"}, scratch.path);
      if (c.status != 0) {
        std::string why = c.err;
        if (why.size() > 400) why = why.substr(0, 400) + "...";
        r.reason = fmt::format(
            "node {} --probe failed (exit {}): {} (run scripts/setup.sh to install "
            "onnxruntime-node into third_party/peers)",
            script.string(), c.status, why);
        return r;
      }
      r.ok = true;
    } catch (const std::exception& e) {
      r.reason = e.what();
    }
    return r;
  }();
  return p;
}

const char* mode_name(OrtMode m) {
  switch (m) {
    case OrtMode::plain:
      return "plain";
    case OrtMode::past:
      return "past";
    case OrtMode::static_cache:
      return "static";
  }
  return "?";
}

void require_available() {
  if (!probe().ok) fail_unsupported("ONNX Runtime peer not available: {}", probe().reason);
}

void require_file(const fs::path& p, const char* what) {
  if (p.empty()) fail_invalid("ORT peer: no {} graph given", what);
  if (!fs::exists(p)) fail_io("ORT peer: {} graph {} not found", what, p.string());
}

nlohmann::json base_request(OrtMode mode, const fs::path& model, const fs::path& prefill,
                            const fs::path& decode, const OrtModelShape& shape, int n_threads) {
  nlohmann::json r;
  r["mode"] = mode_name(mode);
  if (mode == OrtMode::static_cache) {
    require_file(prefill, "prefill");
    require_file(decode, "decode");
    if (shape.max_length <= 0) fail_invalid("ORT peer: static cache needs max_length");
    r["prefill"] = fs::absolute(prefill).string();
    r["decode"] = fs::absolute(decode).string();
  } else {
    require_file(model, "model");
    r["model"] = fs::absolute(model).string();
  }
  if (mode != OrtMode::plain && (shape.n_layer <= 0 || shape.kv_heads <= 0 || shape.head_dim <= 0))
    fail_invalid("ORT peer: cache modes need n_layer, kv_heads and head_dim (got {}, {}, {})",
                 shape.n_layer, shape.kv_heads, shape.head_dim);
  r["n_layer"] = shape.n_layer;
  r["kv_heads"] = shape.kv_heads;
  r["head_dim"] = shape.head_dim;
  r["max_length"] = shape.max_length;
  r["kv_type"] = shape.kv_f16 ? "float16" : "float32";
  r["threads"] = n_threads;
  return r;
}

nlohmann::json ask_runner(const nlohmann::json& request, const ScratchDir& scratch) {
  const fs::path req = scratch.path / "request.json";
  write_file_atomic(req, request.dump());
  const ChildResult c = run_node({runner_script().string(), req.string()}, scratch.path);
  if (c.status != 0) {
    std::string why = c.err.empty() ? c.out : c.err;
    if (why.size() > 2000) why = why.substr(0, 2000) + "...";
    fail(ErrorKind::invalid_input, "ONNX Runtime ({} mode) failed (exit {}): {}",
         request.value("mode", "?"), c.status, why);
  }
  const auto brace = c.out.rfind('{');
  try {
    if (brace == std::string::npos) throw std::runtime_error("no JSON object");
    return nlohmann::json::parse(c.out.substr(brace));
  } catch (const std::exception& e) {
    fail(ErrorKind::internal, "ORT peer: unreadable answer from the runner ({}): {}", e.what(),
         c.out);
  }
}

// The graph input `name`'s dims (-1 for a symbolic one) and element type; false when absent.
bool graph_input(const onnx::GraphProto& g, const std::string& name, std::vector<int64_t>& dims,
                 int32_t& elem) {
  for (const auto& in : g.input()) {
    if (in.name() != name) continue;
    const auto& t = in.type().tensor_type();
    elem = t.elem_type();
    dims.clear();
    for (const auto& d : t.shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    return true;
  }
  return false;
}

}  // namespace

bool OrtPeer::available() {
  return probe().ok;
}

std::string OrtPeer::unavailable_reason() {
  return probe().reason;
}

OrtRunResult ort_run(const OrtRunRequest& request) {
  require_available();
  if (request.tokens.empty()) fail_invalid("ORT peer: no prompt tokens");
  ScratchDir scratch;
  nlohmann::json r = base_request(request.mode, request.model, request.prefill, request.decode,
                                  request.shape, request.n_threads);
  r["action"] = "run";
  r["tokens"] = request.tokens;
  std::vector<int64_t> chunks = request.chunks;
  if (chunks.empty()) chunks = {static_cast<int64_t>(request.tokens.size())};
  r["chunks"] = chunks;
  r["greedy"] = request.greedy;
  const fs::path logits = scratch.path / "logits.f32";
  if (request.want_logits) r["logits_out"] = logits.string();
  const nlohmann::json answer = ask_runner(r, scratch);
  OrtRunResult out;
  out.vocab = answer.at("vocab").get<int64_t>();
  for (const auto& t : answer.at("generated")) out.generated.push_back(t.get<int32_t>());
  if (request.want_logits) {
    const uint64_t expect = request.tokens.size() * static_cast<uint64_t>(out.vocab);
    const uint64_t have = fs::file_size(logits);
    if (have != expect * sizeof(float)) {
      fail(ErrorKind::internal, "ORT peer: logits file holds {} bytes, expected {} x {} floats",
           have, request.tokens.size(), out.vocab);
    }
    out.logits.resize(expect);
    std::ifstream in(logits, std::ios::binary);
    in.read(reinterpret_cast<char*>(out.logits.data()), static_cast<std::streamsize>(have));
  }
  return out;
}

OrtTimingResult ort_time(const OrtTimingRequest& request) {
  require_available();
  if (request.n_prompt <= 0 && request.n_gen <= 0)
    fail_invalid("ORT peer: timing needs n_prompt or n_gen");
  if (request.mode == OrtMode::static_cache &&
      std::max(request.n_prompt, request.n_gen) + 1 > request.shape.max_length) {
    fail_invalid("ORT peer: {} tokens do not fit the static cache of {}",
                 std::max(request.n_prompt, request.n_gen), request.shape.max_length);
  }
  ScratchDir scratch;
  nlohmann::json r = base_request(request.mode, request.model, request.prefill, request.decode,
                                  request.shape, request.n_threads);
  r["action"] = "time";
  r["n_prompt"] = request.n_prompt;
  r["n_gen"] = request.n_gen;
  r["repetitions"] = request.repetitions;
  r["warmup"] = request.warmup;
  const nlohmann::json answer = ask_runner(r, scratch);
  OrtTimingResult out;
  for (const auto& v : answer.at("prompt_ns")) out.prompt_ns.push_back(v.get<double>());
  for (const auto& v : answer.at("gen_ns")) out.gen_ns.push_back(v.get<double>());
  out.peak_rss_bytes = answer.at("peak_rss_bytes").get<uint64_t>();
  return out;
}

namespace {

// n_layer, kv_heads and head_dim from DIR/config.json.
OrtModelShape shape_from_config(const fs::path& onnx_dir) {
  const fs::path config = onnx_dir / "config.json";
  if (!fs::exists(config)) fail_io("ORT peer: {} not found", config.string());
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(read_text_file(config));
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: {}", config.string(), e.what());
  }
  const ModelConfig c = config_from_hf_json(j, config.string());
  OrtModelShape s;
  s.n_layer = c.n_layer;
  s.kv_heads = c.n_head_kv > 0 ? c.n_head_kv : c.n_head;
  s.head_dim = c.head_dim > 0 ? c.head_dim : (c.n_head > 0 ? c.n_embd / c.n_head : 0);
  return s;
}

}  // namespace

OrtModelShape ort_shape_of_export(const fs::path& onnx_dir) {
  OrtModelShape s = shape_from_config(onnx_dir);
  // The static graphs' cache length is not in config.json; the decode graph's inputs hold it.
  const fs::path decode = onnx_dir / "onnx" / "decode.onnx";
  if (fs::exists(decode)) {
    onnx::ModelProto proto;
    std::ifstream in(decode, std::ios::binary);
    if (in && proto.ParseFromIstream(&in)) {
      std::vector<int64_t> dims;
      int32_t elem = 0;
      if (graph_input(proto.graph(), "attention_mask", dims, elem) && dims.size() == 2)
        s.max_length = dims[1];
    }
  }
  return s;
}

OrtModelShape ort_shape_of_graph(const fs::path& graph) {
  // The config sits beside the graph or one folder up (the optimum layout DIR/onnx/*.onnx).
  fs::path config = graph.parent_path() / "config.json";
  if (!fs::exists(config)) config = graph.parent_path().parent_path() / "config.json";
  OrtModelShape s = shape_from_config(config.parent_path());
  onnx::ModelProto proto;
  {
    std::ifstream in(graph, std::ios::binary);
    if (!in) fail_io("ORT peer: cannot open {}", graph.string());
    if (!proto.ParseFromIstream(&in)) fail_invalid("{}: not an ONNX ModelProto", graph.string());
  }
  std::vector<int64_t> dims;
  int32_t elem = 0;
  if (graph_input(proto.graph(), "past_key_values.0.key", dims, elem)) {
    s.kv_f16 = elem == onnx::TensorProto::FLOAT16;
    if (dims.size() == 4 && dims[2] > 0) s.max_length = dims[2];  // decode: the fixed cache
  } else {
    // prefill: its present outputs carry the padded cache length.
    for (const auto& o : proto.graph().output()) {
      if (o.name() != "present.0.key") continue;
      const auto& t = o.type().tensor_type();
      s.kv_f16 = t.elem_type() == onnx::TensorProto::FLOAT16;
      if (t.shape().dim_size() == 4 && t.shape().dim(2).has_dim_value())
        s.max_length = t.shape().dim(2).dim_value();
    }
  }
  return s;
}

}  // namespace slmkit::peers
