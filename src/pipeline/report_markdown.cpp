// report.md: what a person reads first, and what a CI log shows.
#include <fmt/format.h>

#include "pipeline/report_cells.h"
#include "slmkit/pipeline.h"

namespace slmkit {

namespace {

// Table cells must not break the table: '|' is escaped, newlines become spaces.
std::string md_cell(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (c == '|') {
      s += "\\|";
    } else if (c == '\n') {
      s += ' ';
    } else {
      s += c;
    }
  }
  return s;
}

}  // namespace

std::string pipeline_report_markdown(const PipelineResult& r) {
  using namespace pipeline;
  std::string md = fmt::format("# slmkit pipeline: {}\n\n", r.model_name);
  if (r.synthetic) md += "> **" + synthetic_banner() + "**\n\n";
  int n_valid = 0, n_checked = 0;
  for (const PipelineArtifact& a : r.artifacts) {
    if (a.baseline) continue;
    ++n_checked;
    if (a.valid) ++n_valid;
  }
  md += fmt::format("**Result: {}** ({} of {} artifacts passed validation{}), {:.1f} s.\n\n",
                    r.passed ? "PASSED" : "FAILED", n_valid, n_checked,
                    r.problems.empty() ? "" : fmt::format("; {} other problems", r.problems.size()),
                    r.seconds);
  md += method_summary(r) + "\n\n";
  const bool task = has_task(r);
  const bool kld = has_kld(r);
  md += fmt::format(
      "| artifact | format | precision | size | perplexity |{}{} prefill t/s | decode t/s | "
      "ms/token | peak memory | validation |\n"
      "|---|---|---|--:|--:|{}{}--:|--:|--:|--:|---|\n",
      kld ? " KL divergence |" : "", task ? " accuracy |" : "", kld ? "--:|" : "",
      task ? "--:|" : "");
  const std::vector<bool> front = pareto_front(r);
  for (size_t i = 0; i < r.artifacts.size(); ++i) {
    const PipelineArtifact& a = r.artifacts[i];
    const std::string name = a.baseline ? "**" + display_name(a) + "**"
                             : front[i] ? display_name(a) + " (Pareto)"
                                        : display_name(a);
    md += fmt::format("| {} | {} | {} | {} | {} |{}{} {} | {} | {} | {} | {} |\n", md_cell(name),
                      a.format, a.precision, cell_size(a), md_cell(cell_perplexity(a)),
                      kld ? fmt::format(" {} |", md_cell(cell_kld(a))) : std::string(),
                      task ? fmt::format(" {} |", md_cell(cell_accuracy(a))) : std::string(),
                      cell_tps(a.prefill_tps), cell_tps(a.decode_tps), cell_latency(a), cell_rss(a),
                      md_cell(cell_validation(a)));
  }
  if (const std::string front_text = pareto_summary(r); !front_text.empty()) {
    md += "\n" + front_text + "\n";
  }
  bool any_failed = false;
  for (const PipelineArtifact& a : r.artifacts) any_failed |= !a.failed_checks.empty();
  if (any_failed || !r.problems.empty()) {
    md += "\n## Failed checks\n\n";
    for (const PipelineArtifact& a : r.artifacts) {
      for (const ValidationCheck& c : a.failed_checks) {
        md += fmt::format("- `{}`: {}\n", a.name, check_summary(c));
      }
    }
    for (const std::string& p : r.problems) md += "- " + p + "\n";
  }
  if (has_samples(r)) {
    md += fmt::format("\n## Generated samples\n\n{}\n\n", samples_intro(r));
    for (const PipelineArtifact& a : r.artifacts) {
      if (a.sample.empty()) continue;
      md += fmt::format("**{}**\n\n", md_cell(display_name(a)));
      std::string quoted = "> ";
      for (char c : a.sample) quoted += c == '\n' ? std::string("\n> ") : std::string(1, c);
      md += quoted + "\n\n";
    }
  }
  const std::vector<std::string> missing = notes(r);
  if (!missing.empty()) {
    md += "\n## Notes\n\n";
    for (const std::string& n : missing) md += "- " + n + "\n";
  }
  md += "\n## Files\n\n";
  for (const PipelineArtifact& a : r.artifacts) {
    if (a.baseline) continue;
    md += fmt::format("- `{}`{}", a.path.string(), a.reused ? " (kept from an earlier run)" : "");
    if (!a.manifest.empty()) md += fmt::format(", manifest `{}`", a.manifest.string());
    if (!a.validation_report.empty())
      md += fmt::format(", validation `{}`", a.validation_report.string());
    if (!a.sha256.empty()) md += fmt::format(", sha256 `{}`", a.sha256);
    md += "\n";
  }
  md +=
      "- `manifests/checksums.txt`: every file above (`slmkit verify manifests/checksums.txt`, or "
      "`sha256sum -c` from this folder)\n";
  return md;
}

}  // namespace slmkit
