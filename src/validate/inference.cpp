// test_inference: greedy text per prompt in the artifact's own runtime, then, with a reference,
// validate_artifact's functional checks on the same prompt, so that "agrees" means exactly what
// `slmkit validate --prompt P --reference R` would say.
#include "slmkit/inference.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/fail.h"
#include "formats/gguf.h"
#include "peers/ort_peer.h"
#include "slmkit/engine.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "validate/artifact.h"

namespace slmkit {
namespace fs = std::filesystem;

bool PromptInference::agrees() const {
  return std::all_of(agreement.begin(), agreement.end(),
                     [](const ValidationCheck& c) { return c.passed; });
}

bool InferenceReport::passed() const {
  return !prompts.empty() && std::all_of(prompts.begin(), prompts.end(),
                                         [](const PromptInference& p) { return p.agrees(); });
}

nlohmann::ordered_json InferenceReport::to_json() const {
  nlohmann::ordered_json j;
  j["artifact"] = artifact;
  j["format"] = format;
  j["precision"] = precision;
  j["runtime"] = runtime;
  j["graph"] = graph;
  j["reference"] = reference;
  j["max_new_tokens"] = max_new_tokens;
  j["passed"] = passed();
  j["seconds"] = seconds;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const PromptInference& p : prompts) {
    nlohmann::ordered_json e;
    e["prompt"] = p.prompt;
    e["n_prompt_tokens"] = p.n_prompt_tokens;
    e["n_generated"] = p.tokens.size();
    e["tokens"] = p.tokens;
    e["text"] = p.text;
    e["stop"] = p.stopped_at_end_of_generation ? "end_of_generation" : "length";
    e["tokens_per_second"] = p.tokens_per_second;
    e["agrees"] = p.agrees();
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const ValidationCheck& c : p.agreement) checks.push_back(c.to_json());
    e["agreement"] = std::move(checks);
    list.push_back(std::move(e));
  }
  j["prompts"] = std::move(list);
  return j;
}

namespace {

std::vector<int32_t> end_of_generation_ids(const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  for (size_t id = 0; id < tokenizer.size(); ++id) {
    if (tokenizer.is_end_of_generation(static_cast<int32_t>(id))) {
      ids.push_back(static_cast<int32_t>(id));
    }
  }
  return ids;
}

// The continuation's text as `slmkit run` streams it: the prompt's pieces go through the same
// decoder first, so the first generated piece keeps or loses its leading space as it does there.
std::string continuation_text(const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                              const std::vector<int32_t>& generated) {
  StreamDecoder stream(tokenizer);
  for (int32_t id : prompt) stream.push(id);
  std::string text;
  for (int32_t id : generated) text += stream.push(id);
  return text + stream.flush();
}

// Greedy generation in our engine with `slmkit run`'s session (F16 cache, default context).
void generate_gguf(const Engine& engine, const Tokenizer& tokenizer, const InferenceOptions& o,
                   PromptInference& p) {
  SessionOptions so;
  so.n_threads = o.n_threads;
  Session session(engine, so);
  GenerateOptions go;
  go.n_predict = o.max_new_tokens;
  go.sampling.temperature = 0;
  go.stop_tokens = end_of_generation_ids(tokenizer);
  const std::vector<int32_t> ids = tokenizer.encode(p.prompt, true);
  p.n_prompt_tokens = static_cast<int64_t>(ids.size());
  const GenerateResult r =
      generate(session, ids, go, [&](int32_t) { return !o.cancel.cancelled(); });
  o.cancel.throw_if_cancelled();
  p.tokens = r.tokens;
  p.stopped_at_end_of_generation = r.stop == StopReason::end_of_generation;
  p.tokens_per_second = r.decode_tokens_per_second();
  p.text = continuation_text(tokenizer, ids, p.tokens);
}

struct OnnxTarget {
  const artifact::OnnxGraph* graph = nullptr;
  peers::OrtRunRequest request;  // mode, model, shape, threads; tokens set per prompt
};

// ONNX Runtime's greedy argmax for max_new_tokens, cut at the first end-of-generation token as
// our engine stops there; speed from a separate timed run of as many single-token passes (the
// validation's measure), since the generation run also counts process start and model load.
void generate_onnx(OnnxTarget& target, const Tokenizer& tokenizer, const InferenceOptions& o,
                   PromptInference& p) {
  peers::OrtRunRequest req = target.request;
  req.tokens = tokenizer.encode(p.prompt, true);
  req.greedy = o.max_new_tokens;
  p.n_prompt_tokens = static_cast<int64_t>(req.tokens.size());
  std::vector<int32_t> generated = peers::ort_run(req).generated;
  const std::vector<int32_t> stops = end_of_generation_ids(tokenizer);
  const auto stop = std::find_if(generated.begin(), generated.end(), [&](int32_t id) {
    return std::find(stops.begin(), stops.end(), id) != stops.end();
  });
  p.stopped_at_end_of_generation = stop != generated.end();
  generated.erase(stop, generated.end());
  p.tokens = generated;
  p.text = continuation_text(tokenizer, req.tokens, p.tokens);
  o.cancel.throw_if_cancelled();
  p.tokens_per_second = peers::ort_decode_tokens_per_second(req, o.max_new_tokens, o.n_threads);
}

// validate_artifact's functional checks on this prompt; when the format checks stop it before
// them, the failed format checks say why.
std::vector<ValidationCheck> agreement(const fs::path& target, const InferenceOptions& o,
                                       const std::string& prompt) {
  ValidateOptions vo;
  vo.reference = o.reference;
  vo.prompt = prompt;
  vo.n_compare = o.max_new_tokens;
  vo.n_threads = o.n_threads;
  vo.cancel = o.cancel;
  const ValidationReport report = validate_artifact(target, vo);
  std::vector<ValidationCheck> functional, failed;
  for (const ValidationCheck& c : report.checks) {
    if (c.category == "functional") functional.push_back(c);
    if (!c.passed) failed.push_back(c);
  }
  return functional.empty() ? failed : functional;
}

}  // namespace

InferenceReport test_inference(const fs::path& path, const std::vector<std::string>& prompts,
                               const InferenceOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (prompts.empty()) fail_invalid("test_inference: no prompts");
  if (options.max_new_tokens < 1) {
    fail_invalid("test_inference: max_new_tokens {}: need at least 1", options.max_new_tokens);
  }
  const artifact::Info info = artifact::classify(path);
  InferenceReport report;
  report.artifact = path.string();
  report.max_new_tokens = options.max_new_tokens;
  if (options.reference) report.reference = options.reference->filename().string();

  std::optional<Engine> engine;
  std::optional<Tokenizer> tokenizer;
  OnnxTarget onnx;
  fs::path compared = path;  // what the agreement checks validate
  if (info.kind == artifact::Kind::gguf) {
    report.format = "gguf";
    report.runtime = "slmkit";
    Model model = load_model(path);
    report.precision = artifact::gguf_quantization(gguf::read_file(path));
    tokenizer.emplace(model.vocab);
    engine.emplace(std::move(model));
  } else {
    report.format = "onnx";
    report.runtime = "onnxruntime";
    const std::vector<std::string> ps = artifact::precisions(info);
    std::string precision = options.precision;
    if (precision.empty()) {
      precision = std::find(ps.begin(), ps.end(), "fp32") != ps.end() ? "fp32" : ps.front();
    }
    onnx.graph = artifact::main_graph(info, precision);
    if (!onnx.graph) {
      std::string have;
      for (const std::string& p : ps) have += (have.empty() ? "" : ", ") + p;
      fail_invalid("test_inference: {} has no runnable graph of precision {} (it has {})",
                   path.string(), precision, have);
    }
    report.precision = precision;
    const fs::path base = info.kind == artifact::Kind::onnx_folder ? info.path : info.root;
    report.graph = onnx.graph->path.lexically_relative(base).generic_string();
    const bool own = !info.root.empty() && (fs::exists(info.root / "tokenizer.json") ||
                                            fs::exists(info.root / "tokenizer.model"));
    if (!own && !options.reference) {
      fail_invalid(
          "test_inference: no tokenizer.json or tokenizer.model beside {}; give a "
          "reference_path to use the reference's",
          onnx.graph->path.string());
    }
    tokenizer.emplace(Tokenizer::from_path(own ? info.root : *options.reference));
    if (!peers::OrtPeer::available()) {
      fail_unsupported("test_inference: ONNX Runtime is not available: {}",
                       peers::OrtPeer::unavailable_reason());
    }
    onnx.request.mode =
        onnx.graph->variant == "with_past" ? peers::OrtMode::past : peers::OrtMode::plain;
    onnx.request.model = onnx.graph->path;
    onnx.request.shape = peers::ort_shape_of_graph(onnx.graph->path);
    onnx.request.n_threads = options.n_threads;
    compared = onnx.graph->path;
  }

  const int64_t per_prompt = options.reference ? 2 : 1;
  const auto n_steps = static_cast<int64_t>(prompts.size()) * per_prompt;
  int64_t step = 0;
  auto next = [&](const std::string& what) {
    options.cancel.throw_if_cancelled();
    if (options.on_progress) options.on_progress(step, n_steps, what);
    ++step;
  };
  for (const std::string& prompt : prompts) {
    PromptInference p;
    p.prompt = prompt;
    next(fmt::format("generate from \"{}\"", prompt));
    if (engine) {
      generate_gguf(*engine, *tokenizer, options, p);
    } else {
      generate_onnx(onnx, *tokenizer, options, p);
    }
    if (options.reference) {
      next(fmt::format("compare with {} on \"{}\"", report.reference, prompt));
      p.agreement = agreement(compared, options, prompt);
    }
    report.prompts.push_back(std::move(p));
  }
  options.cancel.throw_if_cancelled();
  if (options.on_progress) options.on_progress(n_steps, n_steps, "done");
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace slmkit
