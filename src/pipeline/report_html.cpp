// report.html: one self-contained page (inline CSS and SVG, no script, no external resource) that
// opens anywhere, including offline. It is also well-formed XML (every element closed, text
// escaped), so tests can check it with an XML parser.
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "pipeline/report_cells.h"
#include "pipeline/report_charts.h"
#include "slmkit/inspect.h"
#include "slmkit/pipeline.h"

namespace slmkit {

namespace {

std::string esc(const std::string& text) {
  return pipeline::xml_escape(text);
}

// `code` spans in the shared cell texts become <code> elements.
std::string esc_code(const std::string& text) {
  std::string s;
  bool open = false;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '`') {
      s += esc(text.substr(start, i - start));
      if (i < text.size()) {
        s += open ? "</code>" : "<code>";
        open = !open;
      }
      start = i + 1;
    }
  }
  if (open) s += "</code>";
  return s;
}

constexpr const char* kStyle =
    R"(body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1180px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
.banner{background:#fff3cd;border:1px solid #e0b100;padding:.8em 1em;border-radius:6px;font-weight:600}
.result{font-size:1.15em;font-weight:700;padding:.4em .8em;border-radius:6px;display:inline-block}
.pass{background:#d4edda;color:#155724}.fail{background:#f8d7da;color:#721c24}
table{border-collapse:collapse;font-size:.9em;margin:1em 0}
th,td{border:1px solid #ccc;padding:.35em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.baseline td{background:#fdecea;font-weight:600}
td.bad{color:#b00020;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1em}
svg{background:#fff;border:1px solid #ddd;border-radius:6px}
svg .title{font-size:14px;font-weight:700}svg .tick{font-size:11px;fill:#444}
svg .axis{font-size:12px;fill:#222}svg .point{font-size:11px}svg .empty{font-size:13px;fill:#888}
svg .plot{fill:none;stroke:#999}svg .grid{stroke:#eee}
svg .baseline-line{stroke-dasharray:5 4}svg .bar-label{font-size:12px}
svg .baseline-label{fill:#d62728;font-weight:700}svg .leader{stroke:#999;stroke-width:.8}
code{background:#f3f3f3;padding:0 .2em;border-radius:3px}
.samples dt{font-weight:600;margin-top:.6em}.samples dd{margin:.2em 0 0 1em}
.samples pre{white-space:pre-wrap;background:#f8f8f8;border:1px solid #e3e3e3;padding:.5em .7em;margin:0;font-size:.9em}
)";

}  // namespace

std::string pipeline_report_html(const PipelineResult& r) {
  using namespace pipeline;
  const std::string title = "slmkit pipeline: " + r.model_name;
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
      "<title>{0}</title>\n<style>\n{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
      esc(title), kStyle);
  if (r.synthetic) h += "<p class=\"banner\">" + esc_code(synthetic_banner()) + "</p>\n";
  int n_valid = 0, n_checked = 0;
  for (const PipelineArtifact& a : r.artifacts) {
    if (a.baseline) continue;
    ++n_checked;
    if (a.valid) ++n_valid;
  }
  h += fmt::format("<p class=\"result {}\">{}: {} of {} artifacts passed validation{}</p>\n",
                   r.passed ? "pass" : "fail", r.passed ? "PASSED" : "FAILED", n_valid, n_checked,
                   r.problems.empty() ? "" : fmt::format(", {} other problems", r.problems.size()));
  h += "<p>" + esc_code(method_summary(r)) + fmt::format(" Run took {:.1f} s.</p>\n", r.seconds);

  const bool task = has_task(r);
  const bool kld = has_kld(r);
  const std::vector<bool> front = pareto_front(r);
  h += std::string(
           "<h2>Artifacts</h2>\n<table>\n<thead><tr><th class=\"l\">artifact</th><th "
           "class=\"l\">format</th><th class=\"l\">precision</th><th>size</th>"
           "<th>perplexity</th>") +
       (kld ? "<th>KL divergence</th>" : "") + (task ? "<th>accuracy</th>" : "") +
       "<th>prefill t/s</th><th>decode t/s</th><th>ms/token</th><th>peak memory</th><th "
       "class=\"l\">validation</th></tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < r.artifacts.size(); ++i) {
    const PipelineArtifact& a = r.artifacts[i];
    h += fmt::format(
        "<tr{}><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td>"
        "<td>{}</td>{}{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l{}\">{}</td>"
        "</tr>\n",
        a.baseline ? " class=\"baseline\"" : "",
        esc(display_name(a)) + (front[i] ? " <span class=\"front\">(Pareto)</span>" : ""),
        esc(a.format), esc(a.precision), esc(cell_size(a)), esc(cell_perplexity(a)),
        kld ? "<td>" + esc(cell_kld(a)) + "</td>" : "",
        task ? "<td>" + esc(cell_accuracy(a)) + "</td>" : "", esc(cell_tps(a.prefill_tps)),
        esc(cell_tps(a.decode_tps)), esc(cell_latency(a)), esc(cell_rss(a)),
        !a.baseline && !a.valid ? " bad" : "", esc(cell_validation(a)));
  }
  h += "</tbody>\n</table>\n";
  if (const std::string front_text = pareto_summary(r); !front_text.empty()) {
    h += "<p>" + esc(front_text) + "</p>\n";
  }

  bool any_failed = !r.problems.empty();
  for (const PipelineArtifact& a : r.artifacts) any_failed |= !a.failed_checks.empty();
  if (any_failed) {
    h += "<h2>Failed checks</h2>\n<ul>\n";
    for (const PipelineArtifact& a : r.artifacts) {
      for (const ValidationCheck& c : a.failed_checks) {
        h += fmt::format("<li><code>{}</code>: {}</li>\n", esc(a.name), esc(check_summary(c)));
      }
    }
    for (const std::string& p : r.problems) h += "<li>" + esc_code(p) + "</li>\n";
    h += "</ul>\n";
  }

  if (has_samples(r)) {
    h += "<h2>Generated samples</h2>\n<p>" + esc(samples_intro(r)) +
         "</p>\n<dl class=\"samples\">\n";
    for (const PipelineArtifact& a : r.artifacts) {
      if (a.sample.empty()) continue;
      h += fmt::format("<dt>{}</dt><dd><pre>{}</pre></dd>\n", esc(display_name(a)), esc(a.sample));
    }
    h += "</dl>\n";
  }

  const std::vector<std::string> missing = notes(r);
  if (!missing.empty()) {
    h += "<h2>Notes</h2>\n<ul>\n";
    for (const std::string& n : missing) h += "<li>" + esc_code(n) + "</li>\n";
    h += "</ul>\n";
  }

  // The charts print the table's own cell texts, so their numbers match the table's.
  ScatterChart ppl{"Size vs perplexity (lower is better)", "size (MiB)", "perplexity", false, {}};
  ScatterChart tps{
      "Size vs decode speed (higher is better)", "size (MiB)", "decode tokens/s", true, {}};
  ScatterChart accuracy{
      "Size vs task accuracy (higher is better)", "size (MiB)", "accuracy (%)", false, {}};
  // The baseline has no KLD (it is the reference); the front's points are ringed and joined.
  ScatterChart kl{"Size vs KL divergence from the baseline (lower is better)",
                  "size (MiB)",
                  "mean KL divergence",
                  false,
                  {},
                  true};
  std::vector<BarPair> speed;
  constexpr double kMiB = 1024.0 * 1024.0;
  for (size_t i = 0; i < r.artifacts.size(); ++i) {
    const PipelineArtifact& a = r.artifacts[i];
    const double mib = static_cast<double>(a.size_bytes) / kMiB;
    const bool failed = !a.baseline && !a.valid;
    const std::string label = chart_label(a.name, r.model_name);
    if (a.perplexity) {
      ppl.points.push_back(
          {label, a.name, cell_perplexity_value(a), mib, *a.perplexity, a.baseline, failed});
    }
    if (a.kl_divergence) {
      kl.points.push_back(
          {label, a.name, cell_kld_value(a), mib, *a.kl_divergence, false, failed, front[i]});
    }
    if (a.task_accuracy) {
      accuracy.points.push_back(
          {label, a.name, cell_accuracy_value(a), mib, 100 * *a.task_accuracy, a.baseline, failed});
    }
    if (a.decode_tps > 0) {
      tps.points.push_back(
          {label, a.name, cell_tps(a.decode_tps), mib, a.decode_tps, a.baseline, failed});
    }
    speed.push_back({label, a.name, a.prefill_tps, a.decode_tps, cell_tps(a.prefill_tps),
                     cell_tps(a.decode_tps), a.baseline});
  }
  h += std::string("<h2>Size, perplexity") + (kld ? ", KL divergence" : "") +
       (task ? ", accuracy" : "") + " and speed</h2>\n<div class=\"charts\">\n";
  h += svg_scatter(ppl);
  if (kld) h += svg_scatter(kl);
  if (task) h += svg_scatter(accuracy);
  h += svg_scatter(tps);
  h += svg_bars("Tokens per second", "prefill", "decode", speed);
  h += "</div>\n";

  h += "<h2>Files</h2>\n<ul>\n";
  for (const PipelineArtifact& a : r.artifacts) {
    if (a.baseline) continue;
    h += fmt::format("<li><code>{}</code>{}", esc(a.path.string()),
                     a.reused ? " (kept from an earlier run)" : "");
    if (!a.manifest.empty())
      h += fmt::format(", manifest <code>{}</code>", esc(a.manifest.string()));
    if (!a.validation_report.empty()) {
      h += fmt::format(", validation <code>{}</code>", esc(a.validation_report.string()));
    }
    if (!a.sha256.empty()) h += fmt::format(", sha256 <code>{}</code>", esc(a.sha256));
    h += "</li>\n";
  }
  h += "<li><code>manifests/checksums.txt</code>: every file above (<code>slmkit verify "
       "manifests/checksums.txt</code>)</li>\n</ul>\n";
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace slmkit
