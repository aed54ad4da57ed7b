#include "pipeline/measure.h"

#include <cmath>
#include <functional>

#include "bench/bench_stats.h"
#include "core/fail.h"
#include "engine/engine_logits.h"
#include "eval/chunks.h"
#include "eval/kl_divergence.h"
#include "eval/perplexity.h"
#include "peers/ort_logits.h"
#include "pipeline/artifacts.h"
#include "pipeline/report_cells.h"
#include "slmkit/bench.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/files.h"
#include "slmkit/model.h"
#include "slmkit/perplexity.h"
#include "slmkit/tokenizer.h"
#include "slmkit/validate.h"

namespace slmkit::pipeline {
namespace fs = std::filesystem;

namespace {

PerplexityOptions perplexity_options(const EvalText& eval, const PerplexitySettings& s) {
  PerplexityOptions o;
  o.n_ctx = s.n_ctx;
  o.n_chunks = s.n_chunks;
  o.add_bos = eval.add_bos;
  o.bos_id = eval.bos_id;
  o.n_threads = s.n_threads;
  return o;
}

void record_perplexity(const PerplexityResult& r, PipelineArtifact& a) {
  a.perplexity = r.ppl;
  a.perplexity_error = r.ppl_error;
}

// One pass over the evaluation text: the baseline writes the KL base file, an artifact compares
// with it (absent when the baseline's pass failed, whose note says why: perplexity only then);
// either way the perplexity is eval::perplexity's to the bit.
void perplexity_pass(eval::LogitSource& source, const EvalText& eval, const PerplexitySettings& s,
                     PipelineArtifact& a) {
  const PerplexityOptions o = perplexity_options(eval, s);
  PerplexityResult ppl;
  std::error_code ec;
  if (a.baseline && !s.kl_base.empty()) {
    eval::write_kl_base(source, s.n_vocab, eval.tokens, o, s.kl_base, &ppl);
  } else if (!a.baseline && !s.kl_base.empty() && fs::is_regular_file(s.kl_base, ec)) {
    const KlDivergenceResult k = eval::compute_kl_divergence(source, s.n_vocab, s.kl_base, o, &ppl);
    a.kl_divergence = k.kld_mean;
    a.kl_divergence_error = k.kld_error;
  } else {
    ppl = eval::perplexity(source, eval.tokens, o);
  }
  record_perplexity(ppl, a);
}

// pp row: prefill tokens/s; tg row: decode tokens/s and the per-token latency of each repetition.
void record_bench(const std::vector<BenchRow>& rows, PipelineArtifact& a) {
  for (const BenchRow& row : rows) {
    a.peak_rss_bytes = std::max(a.peak_rss_bytes, row.peak_rss_bytes);
    if (row.n_prompt > 0 && row.n_gen == 0) a.prefill_tps = row.avg_ts;
    if (row.n_gen > 0 && row.n_prompt == 0) {
      a.decode_tps = row.avg_ts;
      std::vector<double> ms;
      for (double ns : row.samples_ns) ms.push_back(ns / 1e6 / static_cast<double>(row.n_gen));
      if (ms.empty()) continue;
      double mean = 0;
      for (double v : ms) mean += v;
      mean /= static_cast<double>(ms.size());
      double var = 0;
      for (double v : ms) var += (v - mean) * (v - mean);
      a.latency_ms_mean = mean;
      a.latency_ms_std = ms.size() > 1 ? std::sqrt(var / static_cast<double>(ms.size() - 1)) : 0.0;
    }
  }
}

// Runs one measurement of an artifact; an Error becomes its note (the report says why the cell is
// empty) instead of stopping the pipeline.
void noted(std::string& note, const std::function<void()>& measure) {
  try {
    measure();
  } catch (const Error& e) {
    note = one_line(e.what());
  }
}

// The perplexity cell of either runtime: a note without an evaluation text; else the driver's own
// checks before `pass` sizes a session (or graph run) by n_ctx, and `pass` itself, its Error the
// cell's note.
void measured_perplexity(const EvalText* eval, const PerplexitySettings& s, PipelineArtifact& a,
                         const std::function<void(const PerplexityOptions&)>& pass) {
  if (!eval) {
    a.perplexity_note = "no evaluation text";
    return;
  }
  noted(a.perplexity_note, [&] {
    const PerplexityOptions o = perplexity_options(*eval, s);
    eval::plan_chunks(static_cast<int64_t>(eval->tokens.size()), o.n_ctx, o.n_chunks, o.add_bos,
                      o.bos_id, 4, "perplexity");
    pass(o);
  });
}

}  // namespace

std::string one_line(const std::string& text, size_t max_chars) {
  std::string s;
  for (char c : text) s += c == '\n' ? ' ' : c;
  if (s.size() > max_chars) s = s.substr(0, max_chars - 3) + "...";
  return s;
}

EvalText read_eval_text(const fs::path& path, const Vocab& vocab, int64_t ppl_ctx) {
  const Tokenizer tokenizer(vocab);
  EvalText e;
  e.tokens = tokenizer.encode(read_text_file(path), true);
  if (static_cast<int64_t>(e.tokens.size()) < 2 * ppl_ctx) {
    fail_invalid("--eval {}: {} tokens, perplexity with --ppl-ctx {} needs at least {}",
                 path.string(), e.tokens.size(), ppl_ctx, 2 * ppl_ctx);
  }
  e.add_bos = tokenizer.bos_id() >= 0 && e.tokens.front() == tokenizer.bos_id();
  e.bos_id = tokenizer.bos_id();
  return e;
}

void measure_perplexity(const Engine& engine, const EvalText* eval, const PerplexitySettings& s,
                        PipelineArtifact& a) {
  measured_perplexity(eval, s, a, [&](const PerplexityOptions& o) {
    engine::EngineLogits source(engine, o.n_ctx, o.n_threads, o.kv_type);
    perplexity_pass(source, *eval, s, a);
  });
}

void measure_speed(const Engine& engine, const fs::path& file, const BenchOptions& options,
                   PipelineArtifact& a) {
  noted(a.bench_note, [&] {
    bench::reset_peak_rss();
    record_bench(bench::bench_engine(engine, file, options), a);
  });
}

void measure_onnx_perplexity(const fs::path& export_dir, const fs::path& graph,
                             const EvalText* eval, const PerplexitySettings& s,
                             PipelineArtifact& a) {
  measured_perplexity(eval, s, a, [&](const PerplexityOptions& o) {
    peers::OrtLogits source(export_dir, graph, o.n_threads > 0 ? o.n_threads : 1);
    perplexity_pass(source, *eval, s, a);
  });
}

void measure_onnx_speed(const fs::path& export_dir, OnnxPrecision precision,
                        const BenchOptions& options, PipelineArtifact& a) {
  noted(a.bench_note, [&] {
    record_bench(bench_onnxruntime(export_dir, onnx_precision_name(precision), options), a);
  });
}

void record_task(const TaskResult& r, PipelineArtifact& a) {
  a.task_accuracy = r.accuracy;
  a.task_accuracy_error = r.accuracy_error;
  a.task_items = r.n_items;
}

std::optional<TaskResult> measure_task(const Engine& engine, const TaskSettings& s,
                                       PipelineArtifact& a) {
  if (!s.task) return std::nullopt;
  std::optional<TaskResult> r;
  noted(a.task_note, [&] {
    r = evaluate_task(engine, Tokenizer(engine.model().vocab), *s.task, s.options);
    record_task(*r, a);
  });
  return r;
}

std::optional<TaskResult> measure_onnx_task(const fs::path& export_dir, const fs::path& graph,
                                            const Tokenizer& tokenizer, const TaskSettings& s,
                                            PipelineArtifact& a) {
  if (!s.task) return std::nullopt;
  std::optional<TaskResult> r;
  noted(a.task_note, [&] {
    r = evaluate_task_onnx(export_dir, graph, tokenizer, *s.task, s.options);
    record_task(*r, a);
  });
  return r;
}

ValidationReport record_validation(ValidationReport report, const std::string& report_name,
                                   const fs::path& out, PipelineArtifact& a) {
  a.n_checks = static_cast<int>(report.checks.size());
  a.valid = report.passed();
  for (const ValidationCheck& c : report.checks) {
    if (!c.passed) a.failed_checks.push_back(c);
  }
  if (!a.failed_checks.empty()) a.failed_check = one_line(check_summary(a.failed_checks.front()));
  report.artifact = report_name;
  const fs::path written = write_validation_report(report, out / "validation_reports");
  a.validation_report = fs::relative(written, out);
  return report;
}

nlohmann::ordered_json performance_json(const PipelineArtifact& a, const std::string& task_name) {
  nlohmann::ordered_json p = nlohmann::ordered_json::object();
  if (a.perplexity) {
    p["perplexity"] = *a.perplexity;
    if (a.perplexity_error) p["perplexity_error"] = *a.perplexity_error;
  }
  if (a.kl_divergence) {
    p["kl_divergence"] = *a.kl_divergence;
    if (a.kl_divergence_error) p["kl_divergence_error"] = *a.kl_divergence_error;
  }
  if (a.prefill_tps > 0) p["prefill_tokens_per_sec"] = a.prefill_tps;
  if (a.decode_tps > 0) {
    p["tokens_per_sec"] = a.decode_tps;
    p["latency_ms_per_token_mean"] = a.latency_ms_mean;
    p["latency_ms_per_token_std"] = a.latency_ms_std;
  }
  if (a.peak_rss_bytes > 0) p["peak_rss_bytes"] = a.peak_rss_bytes;
  if (a.task_accuracy) {
    p["task_accuracy"] = {{"task", task_name},
                          {"items", a.task_items},
                          {"accuracy", *a.task_accuracy},
                          {"stderr", a.task_accuracy_error.value_or(0.0)}};
    // The deployment manifest's own field for its benchmark, named by the task.
    if (task_name == "os_benchmark") p["os_benchmark_accuracy"] = *a.task_accuracy;
  }
  p["validation_passed"] = a.valid;
  return p;
}

void restrict_to_precision(Manifest& m, const fs::path& folder, OnnxPrecision precision) {
  std::vector<std::string> graphs;
  for (OnnxVariant v :
       {OnnxVariant::plain, OnnxVariant::with_past, OnnxVariant::prefill, OnnxVariant::decode}) {
    graphs.push_back((folder / onnx_graph_file(precision, v)).generic_string());
  }
  const std::string onnx_dir = (folder / "onnx").generic_string() + "/";
  std::vector<ManifestFile> kept;
  uint64_t size = 0;
  for (const ManifestFile& f : m.files) {
    const std::string p = f.path.generic_string();
    bool keep = p.rfind(onnx_dir, 0) != 0;  // config, tokenizer: shared by every precision
    for (const std::string& g : graphs) keep |= p == g || p == g + "_data";
    if (!keep) continue;
    if (p == graphs.front()) m.checksum = "sha256:" + f.sha256;
    size += f.size_bytes;
    kept.push_back(f);
  }
  m.files = std::move(kept);
  m.size_bytes = size;
  m.quantization = onnx_precision_name(precision);
}

}  // namespace slmkit::pipeline
