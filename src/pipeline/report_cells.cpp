#include "pipeline/report_cells.h"

#include <algorithm>

#include <fmt/format.h>

#include "slmkit/inspect.h"

namespace slmkit::pipeline {

std::string check_summary(const ValidationCheck& c) {
  std::string s = c.name;
  if (c.value) s += fmt::format(" = {:.6g}", *c.value);
  if (c.bound) {
    s += fmt::format(" (bound {}{:.6g})", c.comparison.empty() ? "" : c.comparison + " ", *c.bound);
  }
  if (!c.detail.empty()) s += ": " + c.detail;
  return s;
}

std::string cell_size(const PipelineArtifact& a) {
  return human_bytes(a.size_bytes);
}

namespace {

// Random weights can reach perplexities of 1e30 and more: those in scientific notation.
std::string perplexity_number(double v) {
  return v < 1e5 ? fmt::format("{:.4f}", v) : fmt::format("{:.4g}", v);
}

}  // namespace

std::string cell_perplexity(const PipelineArtifact& a) {
  if (!a.perplexity) return "n/a";  // why: in the notes
  if (a.perplexity_error) {
    return perplexity_number(*a.perplexity) + " +/- " + perplexity_number(*a.perplexity_error);
  }
  return perplexity_number(*a.perplexity);
}

std::string cell_perplexity_value(const PipelineArtifact& a) {
  return a.perplexity ? perplexity_number(*a.perplexity) : "n/a";
}

std::string cell_kld(const PipelineArtifact& a) {
  if (a.baseline) return "reference";
  if (!a.kl_divergence) return "n/a";
  if (a.kl_divergence_error) {
    return fmt::format("{:.4g} +/- {:.2g}", *a.kl_divergence, *a.kl_divergence_error);
  }
  return fmt::format("{:.4g}", *a.kl_divergence);
}

std::string cell_kld_value(const PipelineArtifact& a) {
  return a.kl_divergence ? fmt::format("{:.4g}", *a.kl_divergence) : "n/a";
}

bool has_kld(const PipelineResult& r) {
  return std::any_of(r.artifacts.begin(), r.artifacts.end(),
                     [](const PipelineArtifact& a) { return a.kl_divergence.has_value(); });
}

std::vector<bool> pareto_front(const PipelineResult& r) {
  const std::vector<PipelineArtifact>& all = r.artifacts;
  auto candidate = [](const PipelineArtifact& a) {
    return !a.baseline && a.valid && a.kl_divergence && a.size_bytes > 0;
  };
  std::vector<bool> front(all.size(), false);
  for (size_t i = 0; i < all.size(); ++i) {
    if (!candidate(all[i])) continue;
    const PipelineArtifact& a = all[i];
    front[i] = std::none_of(all.begin(), all.end(), [&](const PipelineArtifact& b) {
      if (&b == &a || !candidate(b)) return false;
      const bool no_worse = b.size_bytes <= a.size_bytes && *b.kl_divergence <= *a.kl_divergence &&
                            b.decode_tps >= a.decode_tps;
      const bool better = b.size_bytes < a.size_bytes || *b.kl_divergence < *a.kl_divergence ||
                          b.decode_tps > a.decode_tps;
      return no_worse && better;
    });
  }
  return front;
}

std::string pareto_summary(const PipelineResult& r) {
  int n_kld = 0;
  for (const PipelineArtifact& a : r.artifacts) n_kld += a.kl_divergence ? 1 : 0;
  if (n_kld < 2) return "";
  const std::vector<bool> front = pareto_front(r);
  std::vector<std::string> names;
  for (size_t i = 0; i < front.size(); ++i) {
    if (front[i]) names.push_back(r.artifacts[i].name);
  }
  std::string list;
  for (size_t i = 0; i < names.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  }
  if (names.empty()) return "No valid artifact has a size, a KL divergence and a decode speed.";
  return fmt::format(
      "On the size / KL divergence / decode speed Pareto front: {} (no other valid artifact is at "
      "once no larger, no further from the baseline's distributions and no slower).",
      list);
}

bool has_task(const PipelineResult& r) {
  return !r.task.empty();
}

std::string cell_accuracy(const PipelineArtifact& a) {
  if (!a.task_accuracy) return "n/a";  // why: in the notes
  return fmt::format("{:.2f} +/- {:.2f} %", 100 * *a.task_accuracy,
                     100 * a.task_accuracy_error.value_or(0.0));
}

std::string cell_accuracy_value(const PipelineArtifact& a) {
  return a.task_accuracy ? fmt::format("{:.2f} %", 100 * *a.task_accuracy) : "n/a";
}

std::vector<std::string> notes(const PipelineResult& r) {
  std::vector<std::string> out;
  for (const PipelineArtifact& a : r.artifacts) {
    if (!a.perplexity && !a.perplexity_note.empty()) {
      out.push_back(fmt::format("`{}`: perplexity not measured: {}", a.name, a.perplexity_note));
    }
    if (!a.task_accuracy && !a.task_note.empty()) {
      out.push_back(fmt::format("`{}`: task accuracy not measured: {}", a.name, a.task_note));
    }
    if (!a.bench_note.empty()) {
      out.push_back(fmt::format("`{}`: speed not measured: {}", a.name, a.bench_note));
    }
    if (!a.sample_note.empty()) {
      out.push_back(fmt::format("`{}`: no generated sample: {}", a.name, a.sample_note));
    }
  }
  return out;
}

std::string cell_tps(double tps) {
  return tps > 0 ? fmt::format("{:.1f}", tps) : "-";
}

std::string cell_latency(const PipelineArtifact& a) {
  if (a.latency_ms_mean <= 0) return "-";
  return fmt::format("{:.3f} +/- {:.3f}", a.latency_ms_mean, a.latency_ms_std);
}

std::string cell_rss(const PipelineArtifact& a) {
  return a.peak_rss_bytes > 0 ? human_bytes(a.peak_rss_bytes) : "-";
}

std::string cell_validation(const PipelineArtifact& a) {
  if (a.baseline) return "reference";
  if (a.valid) return fmt::format("passed ({} checks)", a.n_checks);
  return "FAILED: " + (a.failed_check.empty() ? std::string("unknown") : a.failed_check);
}

std::string display_name(const PipelineArtifact& a) {
  if (!a.baseline) return a.name;
  return a.name + " (" + (a.precision == "F32" ? std::string("FP32") : a.precision) + " baseline)";
}

std::string method_summary(const PipelineResult& r) {
  std::string s = fmt::format("Input `{}`: {}, {} parameters.", r.model.string(),
                              r.architecture.empty() ? "unknown architecture" : r.architecture,
                              human_count(static_cast<int64_t>(r.parameters)));
  if (r.eval_text.empty()) {
    s += " Perplexity: not measured (no evaluation text given).";
  } else {
    s += fmt::format(
        " Perplexity on `{}` as llama-perplexity computes it: chunks of {} tokens, at most {} "
        "chunks, second half of each scored.",
        r.eval_text, r.ppl_ctx, r.ppl_chunks);
  }
  if (has_task(r)) {
    int64_t items = 0;
    for (const PipelineArtifact& a : r.artifacts) items = std::max(items, a.task_items);
    s += fmt::format(
        " Task accuracy: `{}` ({}, {}), {} items, each model on the same items; the share of "
        "items whose right answer has the highest mean log-probability per token, as "
        "llama-perplexity scores it, +/- its standard error.",
        r.task, r.task_file, r.task_format, items);
  }
  s += fmt::format(
      " Speed: pp{} and tg{} (prompt processing and text generation, tokens/s), mean of {} "
      "repetitions, {} threads; latency is per generated token; peak memory is the benchmark "
      "process's peak resident set.",
      r.bench_prompt, r.bench_gen, r.bench_repetitions,
      r.n_threads > 0 ? std::to_string(r.n_threads) : std::string("all"));
  if (!r.smoothquant.empty()) {
    s += " Every artifact is built from the input smoothed by SmoothQuant (precision \"+ "
         "SmoothQuant\"; the function is unchanged, so the baseline is the input as given): " +
         r.smoothquant + ".";
  }
  s += " The baseline is the input model itself in our engine: FP32 compute on F32 weights; "
       "with F16 or BF16 weights, activations are rounded to that type before each product, as "
       "llama.cpp does, so artifacts are held to bounds no tighter than that type's.";
  return s;
}

std::string synthetic_banner() {
  return "Synthetic model: random weights with a real model's shapes (made by `slmkit synth`). "
         "Sizes, speeds and the checks against the baseline are real; perplexities of random "
         "weights say nothing about quality.";
}

bool has_samples(const PipelineResult& r) {
  for (const PipelineArtifact& a : r.artifacts) {
    if (!a.sample.empty()) return true;
  }
  return false;
}

std::string samples_intro(const PipelineResult& r) {
  return fmt::format(
      "Each GGUF artifact and the baseline continue the same prompt in our engine, greedily "
      "(always the most likely token), for up to {} tokens: the text a quantization writes.",
      r.sample_tokens);
}

}  // namespace slmkit::pipeline
