// The HTML report's charts as inline SVG: a scatter plot with labelled points and paired
// horizontal bars. Whatever the values (NaN, infinities, 1e36 perplexities of random weights),
// every coordinate written is finite and every loop is bounded; points without a finite position
// are named under the chart instead of plotted. Labels are kept inside the drawing (shortened
// with an ellipsis where they would not fit, the full name in a tooltip).
#pragma once

#include <string>
#include <vector>

namespace slmkit::pipeline {

// Text and attribute values escaped for XML/HTML.
std::string xml_escape(const std::string& text);

// What a chart calls an artifact: its name without the model's name in front ("Q8_0",
// "onnx (int8)"), "baseline" for the model itself.
std::string chart_label(const std::string& artifact_name, const std::string& model_name);

// `text` cut to at most `max_chars` characters (UTF-8 aware), ending in an ellipsis when cut.
std::string fit_text(const std::string& text, size_t max_chars);

struct ScatterPoint {
  std::string label;       // beside the point
  std::string tooltip;     // on hover (the full name)
  std::string value_text;  // y as the report's table prints it, appended to the label
  double x = 0, y = 0;
  bool baseline = false;  // red diamond and a dashed line at its y
  bool failed = false;    // orange: failed validation
  bool on_front = false;  // ringed; with ScatterChart::front, joined by the front's line
};

struct ScatterChart {
  std::string title, x_label, y_label;
  bool y_from_zero = false;  // else the y axis hugs the data (log scale over wide ranges)
  std::vector<ScatterPoint> points;
  // A dashed staircase through the on_front points by increasing x: what each size buys at best.
  bool front = false;
};

std::string svg_scatter(const ScatterChart& chart);

struct BarPair {
  std::string label, tooltip;
  double a = 0, b = 0;         // two series (prefill, decode); <= 0 or not finite: no bar
  std::string a_text, b_text;  // the numbers as the table prints them
  bool baseline = false;
};

std::string svg_bars(const std::string& title, const std::string& a_name, const std::string& b_name,
                     const std::vector<BarPair>& bars);

}  // namespace slmkit::pipeline
