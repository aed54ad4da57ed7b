#include "pipeline/report_charts.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

namespace slmkit::pipeline {

namespace {

constexpr const char* kBaselineColor = "#d62728";
constexpr const char* kValidColor = "#1f77b4";
constexpr const char* kFailedColor = "#ff7f0e";
constexpr const char* kLightColor = "#9ecae1";

// Average advance of a character in the charts' sans-serif fonts, in px per px of font size
// (measured in headless Chromium: 11 px text runs 5.6-6.3 px per character); estimates err wide.
constexpr double kCharWidth = 0.6;

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

double text_width(const std::string& s, double font_px) {
  return static_cast<double>(utf8_length(s)) * font_px * kCharWidth;
}

// A "nice" step: 1, 2, 2.5 or 5 times a power of ten, at least `v`.
double nice_step(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

// A nice upper bound for bars: a step times at most 10.
double nice_ceiling(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  const double step = nice_step(v / 5);
  return std::ceil(v / step) * step;
}

std::string tick_label(double v) {
  const double a = std::abs(v);
  if (a >= 1e6) return fmt::format("{:.3g}", v);
  return a >= 1000 ? fmt::format("{:.0f}", v) : fmt::format("{:.4g}", v);
}

// An axis with ticks at round numbers: linear from zero (sizes, speeds), linear around the data
// (perplexities of one model, a few percent apart), or logarithmic over more than two decades.
struct Axis {
  double lo = 0, hi = 1, step = 0.25;
  bool log = false;
  double map(double v) const {  // to 0..1
    const double t = log ? (std::log10(v) - lo) / (hi - lo) : (v - lo) / (hi - lo);
    return std::clamp(t, 0.0, 1.0);
  }
  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      const int first = static_cast<int>(std::ceil(lo)), last = static_cast<int>(std::floor(hi));
      const int every = std::max(1, (last - first) / 5 + 1);
      for (int e = first; e <= last; e += every) out.push_back(std::pow(10.0, e));
      return out;
    }
    // At most a dozen: step is at least a fifth of the range by construction.
    for (int i = 0; i <= 12; ++i) {
      const double v = lo + step * i;
      if (v > hi + step * 1e-6) break;
      out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    }
    return out;
  }
};

Axis make_axis(double lo, double hi, bool from_zero) {
  Axis a;
  if (!(hi > 0) || !std::isfinite(hi)) return a;
  if (!from_zero && lo > 0 && hi / lo > 100) {
    a.log = true;
    a.lo = std::floor(std::log10(lo));
    a.hi = std::ceil(std::log10(hi));
    if (a.hi <= a.lo) a.hi = a.lo + 1;
    return a;
  }
  if (from_zero || !(lo > 0)) lo = 0;
  // Room around the data, then round outwards to whole steps (about four of them).
  const double pad = from_zero || lo == 0 ? 0.0 : std::max((hi - lo) * 0.15, hi * 0.002);
  double span = hi * (from_zero ? 1.05 : 1.0) - (lo - pad) + pad;
  if (!(span > 0)) span = std::max(hi, 1e-12);
  a.step = nice_step(span / 4);
  a.lo = lo == 0 ? 0.0 : std::max(0.0, std::floor((lo - pad) / a.step) * a.step);
  a.hi = std::ceil((hi * (from_zero ? 1.05 : 1.0) + pad) / a.step) * a.step;
  if (a.hi <= a.lo) a.hi = a.lo + a.step;
  return a;
}

// Where a label may go relative to its point: offset of the text's start (or end, for labels
// left of the point) and of its baseline, in px; nearest places first.
struct Place {
  double dx, dy;
  bool left;
};
constexpr Place kPlaces[] = {{10, 4, false},   {-10, 4, true},  {10, -9, false},  {10, 17, false},
                             {-10, -9, true},  {-10, 17, true}, {10, -21, false}, {10, 29, false},
                             {-10, -21, true}, {-10, 29, true}, {10, -33, false}, {10, 41, false}};

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

}  // namespace

std::string xml_escape(const std::string& text) {
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

std::string chart_label(const std::string& artifact_name, const std::string& model_name) {
  if (artifact_name == model_name) return "baseline";
  if (!model_name.empty() && artifact_name.starts_with(model_name)) {
    std::string rest = artifact_name.substr(model_name.size());
    const size_t start = rest.find_first_not_of("-_. ");
    if (start != std::string::npos) return rest.substr(start);
  }
  return artifact_name;
}

std::string fit_text(const std::string& text, size_t max_chars) {
  if (utf8_length(text) <= max_chars || max_chars == 0) return max_chars == 0 ? "" : text;
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool starts_char = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts_char && ++chars > max_chars - 1) break;
    out += text[i];
  }
  return out + "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS
}

std::string svg_scatter(const ScatterChart& chart) {
  constexpr double W = 560, H = 340, L = 70, R = 16, T = 36, B = 50, kFont = 11;
  const double pw = W - L - R, ph = H - T - B;
  std::vector<const ScatterPoint*> shown, unplotted;
  for (const ScatterPoint& p : chart.points) {
    const bool ok = std::isfinite(p.x) && std::isfinite(p.y) && p.x >= 0 && p.y >= 0;
    (ok ? shown : unplotted).push_back(&p);
  }
  const double height = unplotted.empty() ? H : H + 16;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n"
      "<text x=\"10\" y=\"20\" class=\"title\">{2}</text>\n",
      W, height, xml_escape(chart.title));
  // Legend, right-aligned in the title row.
  s += fmt::format(
      "<g class=\"legend\"><circle cx=\"{0}\" cy=\"16\" r=\"4\" fill=\"{1}\"/>"
      "<text x=\"{2}\" y=\"20\" class=\"tick\">passed</text>"
      "<circle cx=\"{3}\" cy=\"16\" r=\"4\" fill=\"{4}\"/>"
      "<text x=\"{5}\" y=\"20\" class=\"tick\">failed</text>"
      "<polygon points=\"{6},11 {7},16 {6},21 {8},16\" fill=\"{9}\"/>"
      "<text x=\"{10}\" y=\"20\" class=\"tick\">baseline</text></g>\n",
      W - 178, kValidColor, W - 171, W - 122, kFailedColor, W - 115, W - 63, W - 58, W - 68,
      kBaselineColor, W - 54);
  if (!unplotted.empty()) {
    std::string names;
    for (const ScatterPoint* p : unplotted) names += (names.empty() ? "" : ", ") + p->label;
    s += fmt::format("<text x=\"8\" y=\"{}\" class=\"tick\">{}</text>\n", H + 8,
                     xml_escape(fit_text("not plotted (no finite value): " + names,
                                         static_cast<size_t>((W - 16) / (kFont * kCharWidth)))));
  }
  if (shown.empty()) {
    return s + fmt::format("<text x=\"{}\" y=\"{}\" class=\"empty\">not measured</text>\n</svg>\n",
                           L, H / 2);
  }
  double x_max = 0, y_min = shown.front()->y, y_max = 0;
  for (const ScatterPoint* p : shown) {
    x_max = std::max(x_max, p->x);
    y_min = std::min(y_min, p->y);
    y_max = std::max(y_max, p->y);
  }
  const Axis xa = make_axis(0, x_max, true);
  const Axis ya = make_axis(y_min, y_max, chart.y_from_zero);
  auto px = [&](double x) { return L + xa.map(x) * pw; };
  auto py = [&](double y) { return T + ph - ya.map(y) * ph; };
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"plot\"/>\n", L, T,
                   pw, ph);
  for (double xv : xa.ticks()) {
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"grid\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" class=\"tick\" text-anchor=\"middle\">{4}</text>\n",
        px(xv), T, T + ph, T + ph + 16, tick_label(xv));
  }
  for (double yv : ya.ticks()) {
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" class=\"grid\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" class=\"tick\" text-anchor=\"end\">{5}</text>\n",
        L, py(yv), L + pw, L - 6, py(yv) + 4, tick_label(yv));
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}</text>\n",
                   L + pw / 2, H - 10, xml_escape(chart.x_label));
  s += fmt::format(
      "<text x=\"16\" y=\"{0:.1f}\" class=\"axis\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 16 {0:.1f})\">{1}</text>\n",
      T + ph / 2, xml_escape(chart.y_label + (ya.log ? " (log scale)" : "")));

  if (chart.front) {
    std::vector<const ScatterPoint*> steps;
    for (const ScatterPoint* p : shown) {
      if (p->on_front) steps.push_back(p);
    }
    std::sort(steps.begin(), steps.end(),
              [](const ScatterPoint* a, const ScatterPoint* b) { return a->x < b->x; });
    if (steps.size() > 1) {
      std::string points;
      for (size_t i = 0; i < steps.size(); ++i) {
        if (i > 0) points += fmt::format("{:.1f},{:.1f} ", px(steps[i]->x), py(steps[i - 1]->y));
        points += fmt::format("{:.1f},{:.1f} ", px(steps[i]->x), py(steps[i]->y));
      }
      points.pop_back();
      s += fmt::format(
          "<polyline points=\"{}\" class=\"front\" fill=\"none\" stroke=\"{}\" "
          "stroke-dasharray=\"5,3\"><title>Pareto front</title></polyline>\n",
          points, kValidColor);
    }
  }
  // Markers first, so that labels can avoid all of them.
  std::vector<Box> taken;
  for (const ScatterPoint* p : shown) {
    const double x = px(p->x), y = py(p->y);
    taken.push_back({x - 7, y - 7, x + 7, y + 7});
    if (p->baseline) {
      s += fmt::format(
          "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" class=\"baseline-line\" "
          "stroke=\"{}\"/>\n",
          L, y, L + pw, y, kBaselineColor);
      s += fmt::format(
          "<polygon points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" "
          "fill=\"{}\" class=\"baseline\"><title>{}</title></polygon>\n",
          x, y - 8, x + 8, y, x, y + 8, x - 8, y, kBaselineColor,
          xml_escape(p->tooltip + " (baseline): " + p->value_text));
    } else {
      if (p->on_front) {
        s += fmt::format(
            "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"9\" fill=\"none\" stroke=\"{}\" "
            "stroke-width=\"1.5\" class=\"front\"/>\n",
            x, y, kValidColor);
      }
      s += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"6\" fill=\"{}\"><title>{}</title></circle>\n", x,
          y, p->failed ? kFailedColor : kValidColor,
          xml_escape(p->tooltip + (p->failed ? " (failed validation)" : "") + ": " +
                     p->value_text));
    }
  }
  // Each label tries a fixed list of places around its point and takes the first that stays in
  // the drawing and clears every marker and earlier label; if none does, the first that stays in
  // the drawing. A fixed number of tries per label: the loop ends whatever the values are.
  const size_t max_chars = static_cast<size_t>((pw * 0.6) / (kFont * kCharWidth));
  for (const ScatterPoint* p : shown) {
    const double x = px(p->x), y = py(p->y);
    const std::string label = fit_text(p->label, max_chars) + " " + p->value_text;
    const double w = text_width(label, kFont);
    std::optional<Box> chosen, fallback;
    bool chosen_left = false, fallback_left = false, chosen_near = false, fallback_near = false;
    for (size_t i = 0; i < std::size(kPlaces); ++i) {
      const Place& pl = kPlaces[i];
      const double x0 = pl.left ? x + pl.dx - w : x + pl.dx;
      const Box b{x0, y + pl.dy - kFont, x0 + w, y + pl.dy + 2};
      // Inside the plot: clear of the tick labels, the axis titles and the legend.
      if (b.x0 < L + 2 || b.x1 > L + pw - 2 || b.y0 < T || b.y1 > T + ph) continue;
      if (!fallback) fallback = b, fallback_left = pl.left, fallback_near = i < 2;
      if (std::none_of(taken.begin(), taken.end(), [&](const Box& o) { return o.overlaps(b); })) {
        chosen = b, chosen_left = pl.left, chosen_near = i < 2;
        break;
      }
    }
    if (!chosen) chosen = fallback, chosen_left = fallback_left, chosen_near = fallback_near;
    if (!chosen) {  // no place inside the plot: right of the point, slid back into the plot
      const double x0 = std::clamp(x + 10, L + 2, std::max(L + 2, L + pw - 2 - w));
      const double yb = std::clamp(y + 4, T + kFont, T + ph);
      chosen = Box{x0, yb - kFont, x0 + w, yb + 2};
      chosen_left = chosen_near = false;
    }
    taken.push_back(*chosen);
    if (!chosen_near) {  // a label moved off its point's line: a leader line says whose it is
      s += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"leader\"/>\n", x,
          y, chosen_left ? chosen->x1 + 1 : chosen->x0 - 1, chosen->y1 - 5);
    }
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"point{}\">{}</text>\n",
        chosen_left ? chosen->x1 : chosen->x0, chosen->y1 - 2,
        chosen_left ? "\" text-anchor=\"end" : "",
        xml_escape(fit_text(label, static_cast<size_t>((pw - 4) / (kFont * kCharWidth)))));
  }
  return s + "</svg>\n";
}

std::string svg_bars(const std::string& title, const std::string& a_name, const std::string& b_name,
                     const std::vector<BarPair>& bars) {
  constexpr double W = 560, L = 150, R = 64, T = 50, row = 34, kFont = 12, kValueFont = 11;
  const double H = T + row * static_cast<double>(bars.size()) + 16;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n"
      "<text x=\"10\" y=\"20\" class=\"title\">{2}</text>\n"
      "<rect x=\"10\" y=\"30\" width=\"10\" height=\"10\" fill=\"{3}\"/>"
      "<text x=\"25\" y=\"39\" class=\"tick\">{4}</text>"
      "<rect x=\"110\" y=\"30\" width=\"10\" height=\"10\" fill=\"{5}\"/>"
      "<text x=\"125\" y=\"39\" class=\"tick\">{6}</text>\n",
      W, H, xml_escape(title), kLightColor, xml_escape(a_name), kValidColor, xml_escape(b_name));
  auto usable = [](double v) { return std::isfinite(v) && v > 0; };
  double v_max = 0;
  for (const BarPair& b : bars) {
    for (double v : {b.a, b.b}) {
      if (usable(v)) v_max = std::max(v_max, v);
    }
  }
  v_max = nice_ceiling(v_max);
  const double pw = W - L - R;
  const size_t label_chars = static_cast<size_t>((L - 14) / (kFont * kCharWidth));
  const size_t value_chars = static_cast<size_t>((R - 6) / (kValueFont * kCharWidth));
  for (size_t i = 0; i < bars.size(); ++i) {
    const BarPair& b = bars[i];
    const double y = T + row * static_cast<double>(i);
    s += fmt::format(
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" class=\"{}\"><title>{}</title>{}</text>\n",
        L - 8, y + 17, b.baseline ? "bar-label baseline-label" : "bar-label",
        xml_escape(b.tooltip + (b.baseline ? " (baseline)" : "")),
        xml_escape(fit_text(b.label, label_chars)));
    for (int k = 0; k < 2; ++k) {
      const double v = k == 0 ? b.a : b.b;
      const std::string& text = k == 0 ? b.a_text : b.b_text;
      const double w = usable(v) ? std::min(v / v_max, 1.0) * pw : 0;
      s += fmt::format(
          "<rect x=\"{}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"13\" fill=\"{}\"{}>"
          "<title>{}</title></rect>"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick value\">{}</text>\n",
          L, y + 2 + 14 * k, w, k == 0 ? kLightColor : kValidColor,
          b.baseline ? fmt::format(" stroke=\"{}\" stroke-width=\"2\"", kBaselineColor) : "",
          xml_escape(fmt::format("{}: {}", k == 0 ? a_name : b_name, text)), L + w + 4,
          y + 13 + 14 * k, xml_escape(fit_text(text, value_chars)));
    }
  }
  return s + "</svg>\n";
}

}  // namespace slmkit::pipeline
