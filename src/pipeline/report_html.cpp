// report.html: one self-contained page (inline CSS and SVG, no script, no external resource) that
// opens anywhere, including offline. It is also well-formed XML (every element closed, text
// escaped), so tests can check it with an XML parser.
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "pipeline/report_cells.h"
#include "slmkit/inspect.h"
#include "slmkit/pipeline.h"

namespace slmkit {

namespace {

std::string esc(const std::string& text) {
  std::string s;
  s.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        s += "&amp;";
        break;
      case '<':
        s += "&lt;";
        break;
      case '>':
        s += "&gt;";
        break;
      case '"':
        s += "&quot;";
        break;
      case '\'':
        s += "&#39;";
        break;
      default:
        s += c;
    }
  }
  return s;
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

constexpr const char* kBaselineColor = "#d62728";
constexpr const char* kValidColor = "#1f77b4";
constexpr const char* kFailedColor = "#ff7f0e";

struct Point {
  std::string label;
  double x = 0, y = 0;
  bool baseline = false;
  bool failed = false;
};

// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `v`.
double nice_ceiling(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

std::string tick_label(double v) {
  return std::abs(v) >= 1000 ? fmt::format("{:.0f}", v) : fmt::format("{:.4g}", v);
}

// Axis range: from zero for sizes and speeds; around the data for perplexities, whose differences
// between quantizations are a few percent and would vanish on an axis from zero.
struct Range {
  double lo = 0, hi = 1;
};
Range axis_range(double lo, double hi, bool from_zero) {
  if (from_zero || hi <= 0) return {0, nice_ceiling(hi * 1.05)};
  const double pad = std::max((hi - lo) * 0.15, hi * 0.01);
  return {std::max(0.0, lo - pad), hi + pad};
}

// Scatter plot with labelled points; the baseline is a red diamond with a dashed line at its y.
std::string svg_scatter(const std::string& title, const std::string& x_label,
                        const std::string& y_label, const std::vector<Point>& points,
                        bool y_from_zero) {
  constexpr double W = 560, H = 340, L = 70, R = 150, T = 36, B = 50;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n"
      "<text x=\"{3}\" y=\"20\" class=\"title\">{2}</text>\n",
      W, H, esc(title), L);
  if (points.empty()) {
    return s + fmt::format("<text x=\"{}\" y=\"{}\" class=\"empty\">not measured</text>\n</svg>\n",
                           L, H / 2);
  }
  double x_max = 0, y_min = points.front().y, y_max = 0;
  for (const Point& p : points) {
    x_max = std::max(x_max, p.x);
    y_min = std::min(y_min, p.y);
    y_max = std::max(y_max, p.y);
  }
  x_max = nice_ceiling(x_max * 1.05);
  const Range yr = axis_range(y_min, y_max, y_from_zero);
  const double pw = W - L - R, ph = H - T - B;
  auto px = [&](double x) { return L + x / x_max * pw; };
  auto py = [&](double y) { return T + ph - (y - yr.lo) / (yr.hi - yr.lo) * ph; };
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"plot\"/>\n", L, T,
                   pw, ph);
  for (int i = 0; i <= 4; ++i) {
    const double xv = x_max * i / 4, yv = yr.lo + (yr.hi - yr.lo) * i / 4;
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"grid\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" class=\"tick\" text-anchor=\"middle\">{4}</text>\n",
        px(xv), T, T + ph, T + ph + 16, tick_label(xv));
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" class=\"grid\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" class=\"tick\" text-anchor=\"end\">{5}</text>\n",
        L, py(yv), L + pw, L - 6, py(yv) + 4, tick_label(yv));
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}</text>\n",
                   L + pw / 2, H - 10, esc(x_label));
  s += fmt::format(
      "<text x=\"16\" y=\"{0:.1f}\" class=\"axis\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 16 {0:.1f})\">{1}</text>\n",
      T + ph / 2, esc(y_label));
  // Labels are moved down until they clear the ones already placed (points of similar size and
  // perplexity would otherwise print on top of each other).
  struct Box {
    double x0, x1, y;
  };
  std::vector<Box> placed;
  for (const Point& p : points) {
    const double x = px(p.x), y = py(p.y);
    if (p.baseline) {
      s += fmt::format(
          "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" class=\"baseline-line\" "
          "stroke=\"{}\"/>\n",
          L, y, L + pw, y, kBaselineColor);
      s += fmt::format(
          "<polygon points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" "
          "fill=\"{}\" class=\"baseline\"><title>{}</title></polygon>\n",
          x, y - 8, x + 8, y, x, y + 8, x - 8, y, kBaselineColor,
          esc(p.label + " (FP32 baseline)"));
    } else {
      s += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"6\" fill=\"{}\"><title>{}</title></circle>\n", x,
          y, p.failed ? kFailedColor : kValidColor,
          esc(p.label + (p.failed ? " (failed validation)" : "")));
    }
    const std::string label = p.baseline ? p.label + " (baseline)" : p.label;
    Box box{x + 10, x + 10 + 6.2 * static_cast<double>(label.size()), y + 4};
    for (bool moved = true; moved;) {
      moved = false;
      for (const Box& b : placed) {
        if (std::abs(b.y - box.y) < 12 && box.x0 < b.x1 && b.x0 < box.x1) {
          box.y = b.y + 12;
          moved = true;
        }
      }
    }
    placed.push_back(box);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"point\">{}</text>\n", box.x0, box.y,
                     esc(label));
  }
  return s + "</svg>\n";
}

struct Bar {
  std::string label;
  double a = 0, b = 0;  // two series (prefill, decode)
  bool baseline = false;
};

// Horizontal bars, two per artifact; the baseline's label is red and bold.
std::string svg_bars(const std::string& title, const std::string& a_name, const std::string& b_name,
                     const std::vector<Bar>& bars) {
  constexpr double W = 560, L = 200, R = 70, T = 50, row = 34;
  const double H = T + row * static_cast<double>(bars.size()) + 30;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n"
      "<text x=\"10\" y=\"20\" class=\"title\">{2}</text>\n"
      "<rect x=\"10\" y=\"30\" width=\"10\" height=\"10\" fill=\"{3}\"/>"
      "<text x=\"25\" y=\"39\" class=\"tick\">{4}</text>"
      "<rect x=\"110\" y=\"30\" width=\"10\" height=\"10\" fill=\"{5}\"/>"
      "<text x=\"125\" y=\"39\" class=\"tick\">{6}</text>\n",
      W, H, esc(title), "#9ecae1", esc(a_name), kValidColor, esc(b_name));
  double v_max = 0;
  for (const Bar& b : bars) v_max = std::max({v_max, b.a, b.b});
  v_max = nice_ceiling(v_max);
  const double pw = W - L - R;
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = T + row * static_cast<double>(i);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" class=\"{}\">{}</text>\n",
                     L - 8, y + 17, b.baseline ? "bar-label baseline-label" : "bar-label",
                     esc(b.baseline ? b.label + " (baseline)" : b.label));
    for (int k = 0; k < 2; ++k) {
      const double v = k == 0 ? b.a : b.b;
      const double w = v > 0 ? v / v_max * pw : 0;
      s += fmt::format(
          "<rect x=\"{}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"13\" fill=\"{}\"{}>"
          "<title>{}</title></rect>"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\">{}</text>\n",
          L, y + 2 + 14 * k, w, k == 0 ? "#9ecae1" : kValidColor,
          b.baseline ? fmt::format(" stroke=\"{}\" stroke-width=\"2\"", kBaselineColor) : "",
          esc(fmt::format("{}: {:.1f}", k == 0 ? a_name : b_name, v)), L + w + 4, y + 13 + 14 * k,
          v > 0 ? fmt::format("{:.0f}", v) : "n/a");
    }
  }
  return s + "</svg>\n";
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
svg .baseline-label{fill:#d62728;font-weight:700}
code{background:#f3f3f3;padding:0 .2em;border-radius:3px}
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

  h += "<h2>Artifacts</h2>\n<table>\n<thead><tr><th class=\"l\">artifact</th><th "
       "class=\"l\">format</th><th class=\"l\">precision</th><th>size</th><th>perplexity</th>"
       "<th>prefill t/s</th><th>decode t/s</th><th>ms/token</th><th>peak memory</th><th "
       "class=\"l\">validation</th></tr></thead>\n<tbody>\n";
  for (const PipelineArtifact& a : r.artifacts) {
    h += fmt::format(
        "<tr{}><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l{}\">{}</td></tr>\n",
        a.baseline ? " class=\"baseline\"" : "", esc(display_name(a)), esc(a.format),
        esc(a.precision), esc(cell_size(a)), esc(cell_perplexity(a)), esc(cell_tps(a.prefill_tps)),
        esc(cell_tps(a.decode_tps)), esc(cell_latency(a)), esc(cell_rss(a)),
        !a.baseline && !a.valid ? " bad" : "", esc(cell_validation(a)));
  }
  h += "</tbody>\n</table>\n";

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

  const std::vector<std::string> missing = notes(r);
  if (!missing.empty()) {
    h += "<h2>Notes</h2>\n<ul>\n";
    for (const std::string& n : missing) h += "<li>" + esc_code(n) + "</li>\n";
    h += "</ul>\n";
  }

  std::vector<Point> size_ppl, size_tps;
  std::vector<Bar> speed;
  constexpr double kMiB = 1024.0 * 1024.0;
  for (const PipelineArtifact& a : r.artifacts) {
    const double mib = static_cast<double>(a.size_bytes) / kMiB;
    const bool failed = !a.baseline && !a.valid;
    if (a.perplexity) size_ppl.push_back({a.name, mib, *a.perplexity, a.baseline, failed});
    if (a.decode_tps > 0) size_tps.push_back({a.name, mib, a.decode_tps, a.baseline, failed});
    speed.push_back({a.name, a.prefill_tps, a.decode_tps, a.baseline});
  }
  h += "<h2>Size, perplexity and speed</h2>\n<div class=\"charts\">\n";
  h += svg_scatter("Size vs perplexity (lower is better)", "size (MiB)", "perplexity", size_ppl,
                   false);
  h += svg_scatter("Size vs decode speed (higher is better)", "size (MiB)", "decode tokens/s",
                   size_tps, true);
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
