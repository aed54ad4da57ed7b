// The report writers on a PipelineResult built by hand: what a person must be able to read off it
// (baseline marked, synthetic banner, failed check named with its numbers), and an HTML page that
// is self-contained and well-formed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <limits>
#include <regex>
#include <string>

#include "pipeline/report_cells.h"
#include "slmkit/pipeline.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

PipelineResult sample_result() {
  PipelineResult r;
  r.model_name = "stories260K";
  r.architecture = "llama";
  r.parameters = 260032;
  r.model = "models/stories260K.bin";
  r.eval_text = "tinystories_val_subset.txt";
  r.ppl_ctx = 128;
  r.ppl_chunks = 8;
  r.bench_prompt = 128;
  r.bench_gen = 32;
  r.bench_repetitions = 3;
  r.n_threads = 2;
  r.seconds = 12.5;

  PipelineArtifact base;
  base.name = "stories260K";
  base.format = "llama2c";
  base.precision = "F32";
  base.path = r.model;
  base.size_bytes = 1040128;
  base.baseline = true;
  base.valid = true;
  base.perplexity = 4.8753;
  base.perplexity_error = 0.0512;
  base.prefill_tps = 41000;
  base.decode_tps = 5200;
  base.latency_ms_mean = 0.192;
  base.latency_ms_std = 0.004;
  base.peak_rss_bytes = 12u << 20;
  r.artifacts.push_back(base);

  PipelineArtifact q8;
  q8.name = "stories260K-Q8_0";
  q8.format = "gguf";
  q8.precision = "Q8_0";
  q8.path = "stories260K-Q8_0.gguf";
  q8.size_bytes = 300000;
  q8.valid = true;
  q8.n_checks = 14;
  q8.perplexity = 4.8801;
  q8.prefill_tps = 45000;
  q8.decode_tps = 6100;
  q8.sha256 = std::string(64, 'a');
  q8.manifest = "manifests/stories260K-Q8_0.json";
  r.artifacts.push_back(q8);

  PipelineArtifact q4;
  q4.name = "stories260K_onnx (q4)";
  q4.format = "onnx";
  q4.precision = "q4";
  q4.path = "stories260K_onnx";
  q4.size_bytes = 640000;
  q4.valid = false;
  ValidationCheck failed;
  failed.name = "logits.max_abs_diff_rel";
  failed.category = "functional";
  failed.value = 0.0312;
  failed.bound = 0.02;
  failed.comparison = "<=";
  failed.detail = "worst at position 7 <of> 16";
  q4.failed_checks.push_back(failed);
  q4.failed_check = "logits.max_abs_diff_rel = 0.0312 (bound <= 0.02)";
  q4.perplexity_note = "not measured for ONNX";
  q4.decode_tps = 900;
  r.artifacts.push_back(q4);
  r.passed = false;
  return r;
}

TEST(PipelineReport, MarkdownNamesBaselineAndFailedCheckWithNumbers) {
  const std::string md = pipeline_report_markdown(sample_result());
  EXPECT_NE(md.find("**Result: FAILED** (1 of 2 artifacts passed validation)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| **stories260K (FP32 baseline)** | llama2c | F32 | 1015.8 KiB | 4.8753 "
                    "+/- 0.0512 | 41000.0 | 5200.0 | 0.192 +/- 0.004 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| stories260K-Q8_0 | gguf | Q8_0 |"), std::string::npos);
  EXPECT_NE(md.find("passed (14 checks)"), std::string::npos);
  EXPECT_NE(md.find("- `stories260K_onnx (q4)`: logits.max_abs_diff_rel = 0.0312 (bound <= "
                    "0.02): worst at position 7 <of> 16"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- `stories260K_onnx (q4)`: perplexity not measured: not measured for ONNX"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("Synthetic model"), std::string::npos);
  // Every table row has the header's eleven '|'.
  size_t rows = 0;
  for (size_t pos = md.find("\n| "); pos != std::string::npos; pos = md.find("\n| ", pos + 1)) {
    const size_t end = md.find('\n', pos + 1);
    const std::string line = md.substr(pos + 1, end - pos - 1);
    size_t bars = 0;
    for (size_t i = 0; i < line.size(); ++i)
      bars += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    EXPECT_EQ(bars, 11u) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 4u);  // header + 3 artifacts
}

// With a task: an accuracy column in both tables (twelve '|' per Markdown row), the missing one
// explained in the notes, and a size-vs-accuracy chart plotting the measured artifacts.
TEST(PipelineReport, TaskAccuracyColumnNotesAndChart) {
  PipelineResult r = sample_result();
  r.task = "os_benchmark";
  r.task_file = "os.jsonl";
  r.task_format = "jsonl";
  r.artifacts[0].task_accuracy = 0.625;
  r.artifacts[0].task_accuracy_error = 0.0242;
  r.artifacts[0].task_items = 400;
  r.artifacts[1].task_accuracy = 0.6175;
  r.artifacts[1].task_accuracy_error = 0.0243;
  r.artifacts[1].task_items = 400;
  r.artifacts[2].task_note = "ONNX Runtime peer not available";
  const std::string md = pipeline_report_markdown(r);
  EXPECT_NE(md.find("| perplexity | accuracy | prefill t/s |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 4.8753 +/- 0.0512 | 62.50 +/- 2.42 % | 41000.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 4.8801 | 61.75 +/- 2.43 % | 45000.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| n/a | n/a | - | 900.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("- `stories260K_onnx (q4)`: task accuracy not measured: ONNX Runtime peer not "
                    "available"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("Task accuracy: `os_benchmark` (os.jsonl, jsonl), 400 items"),
            std::string::npos)
      << md;
  for (size_t pos = md.find("\n| "); pos != std::string::npos; pos = md.find("\n| ", pos + 1)) {
    const std::string line = md.substr(pos + 1, md.find('\n', pos + 1) - pos - 1);
    EXPECT_EQ(std::count(line.begin(), line.end(), '|'), 12) << line;
  }
  const std::string html = pipeline_report_html(r);
  EXPECT_NE(html.find("<th>perplexity</th><th>accuracy</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>62.50 +/- 2.42 %</td>"), std::string::npos);
  const size_t chart = html.find("Size vs task accuracy (higher is better)");
  ASSERT_NE(chart, std::string::npos);
  const std::string svg = html.substr(chart, html.find("</svg>", chart) - chart);
  EXPECT_NE(svg.find("62.50 %"), std::string::npos) << svg;
  EXPECT_NE(svg.find("61.75 %"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("q4"), std::string::npos) << svg;  // not measured: not plotted
  // Without a task neither the column nor the chart.
  const std::string plain = pipeline_report_html(sample_result());
  EXPECT_EQ(plain.find("accuracy"), std::string::npos);
}

// The front over size, KL divergence and decode speed: an artifact is off it only when another
// valid one is no larger, no further and no slower, and better on one; equal ones both stay on.
// The baseline (the reference) and failed artifacts are never on it.
TEST(PipelineReport, KlDivergenceColumnAndParetoFront) {
  PipelineResult r = sample_result();
  r.artifacts[1].kl_divergence = 0.0008;  // Q8_0: 300000 B, 6100 t/s
  r.artifacts[1].kl_divergence_error = 0.00005;
  r.artifacts[2].kl_divergence = 0.001;  // the failed ONNX q4
  auto add = [&r](const std::string& name, uint64_t size, double kld, double tps) {
    PipelineArtifact a;
    a.name = a.precision = name;
    a.format = "gguf";
    a.size_bytes = size;
    a.kl_divergence = kld;
    a.decode_tps = tps;
    a.valid = true;
    r.artifacts.push_back(a);
  };
  add("Q4_0", 200000, 0.09, 6000);
  add("auto", 250000, 0.02, 5000);
  add("Q5_0", 260000, 0.03, 4000);  // auto is smaller, closer and faster
  add("auto-copy", 250000, 0.02, 5000);
  const std::vector<bool> front = pipeline::pareto_front(r);
  EXPECT_EQ(front, (std::vector<bool>{false, true, false, true, true, false, true}));
  EXPECT_NE(pipeline::pareto_summary(r).find("stories260K-Q8_0, Q4_0, auto and auto-copy"),
            std::string::npos)
      << pipeline::pareto_summary(r);

  const std::string md = pipeline_report_markdown(r);
  EXPECT_NE(md.find("| perplexity | KL divergence |"), std::string::npos) << md;
  EXPECT_NE(md.find("| stories260K-Q8_0 (Pareto) | gguf | Q8_0 | 293.0 KiB | 4.8801 | 0.0008 +/- "
                    "5e-05 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| **stories260K (FP32 baseline)** | llama2c | F32 | 1015.8 KiB | 4.8753 +/- "
                    "0.0512 | reference |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| Q5_0 | gguf |"), std::string::npos) << md;
  const std::string html = pipeline_report_html(r);
  EXPECT_NE(html.find("Size vs KL divergence from the baseline"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  // Without any KL divergence: no column, no chart, no front.
  r = sample_result();
  EXPECT_EQ(pipeline_report_markdown(r).find("KL divergence"), std::string::npos);
  EXPECT_EQ(pipeline_report_html(r).find("KL divergence"), std::string::npos);
  EXPECT_EQ(pipeline::pareto_summary(r), "");
}

TEST(PipelineReport, SyntheticBannerAndPass) {
  PipelineResult r = sample_result();
  r.synthetic = true;
  r.artifacts.pop_back();
  r.passed = true;
  const std::string md = pipeline_report_markdown(r);
  EXPECT_NE(md.find("> **Synthetic model: random weights"), std::string::npos) << md;
  EXPECT_NE(md.find("**Result: PASSED** (1 of 1 artifacts passed validation)"), std::string::npos);
  EXPECT_EQ(md.find("## Failed checks"), std::string::npos);
  const std::string html = pipeline_report_html(r);
  EXPECT_NE(html.find("<p class=\"banner\">Synthetic model: random weights"), std::string::npos);
  EXPECT_NE(html.find("class=\"result pass\""), std::string::npos);
}

TEST(PipelineReport, HtmlSelfContainedWithChartsAndBaselineMarked) {
  const std::string html = pipeline_report_html(sample_result());
  // No external resources: nothing fetched by src/href, no script.
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  size_t svgs = 0;
  for (size_t p = html.find("<svg "); p != std::string::npos; p = html.find("<svg ", p + 1)) ++svgs;
  EXPECT_EQ(svgs, 3u);
  EXPECT_NE(html.find("<tr class=\"baseline\"><td class=\"l\">stories260K (FP32 baseline)</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<title>stories260K (baseline): 4.8753</title></polygon>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("class=\"baseline-line\""), std::string::npos);
  // The failed check, escaped.
  EXPECT_NE(html.find("logits.max_abs_diff_rel = 0.0312 (bound &lt;= 0.02): worst at position 7 "
                      "&lt;of&gt; 16"),
            std::string::npos);
  EXPECT_NE(html.find("class=\"result fail\""), std::string::npos);
}

// The page is well-formed XML, checked by libxml2's xmllint where it is installed.
TEST(PipelineReport, HtmlIsWellFormed) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "xmllint not installed (apt install libxml2-utils)";
  }
  const auto dir = testing::temp_dir("pipeline-report");
  PipelineResult r = sample_result();
  r.synthetic = true;
  r.problems.push_back("verify: `x.gguf` sha256 ab != cd & more");
  std::string html = pipeline_report_html(r);
  // xmllint does not know HTML's doctype; the rest must parse as XML.
  html.erase(0, html.find('\n') + 1);
  testing::write_bytes(
      dir / "report.xml",
      std::vector<std::byte>(reinterpret_cast<const std::byte*>(html.data()),
                             reinterpret_cast<const std::byte*>(html.data()) + html.size()));
  std::string out;
  EXPECT_EQ(testing::run_command("xmllint --noout " + (dir / "report.xml").string(), &out), 0)
      << out;
}

// The lead's hang: random-weight perplexities (~1e36) stalled the label placement loop. Now any
// value (NaN, infinities, 1e300, negatives) and any number of points on one spot give a page in
// bounded time, with only finite numbers in the SVG and the unplottable points named.
TEST(PipelineReport, ChartsFinishForAnyValues) {
  PipelineResult r = sample_result();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double values[] = {nan, inf, -inf, 3.8e36, 3.8e36 + 1e20, 1e300, -1, 0, 5e-324};
  int i = 0;
  for (double v : values) {
    PipelineArtifact a;
    a.name = "stories260K-X" + std::to_string(i++);
    a.format = "gguf";
    a.valid = true;
    a.size_bytes = 300000;  // all on one spot
    a.perplexity = v;
    a.prefill_tps = v;
    a.decode_tps = v;
    r.artifacts.push_back(a);
  }
  for (int k = 0; k < 40; ++k) {  // forty identical points
    PipelineArtifact a;
    a.name = "stories260K-same" + std::to_string(k);
    a.valid = true;
    a.size_bytes = 300000;
    a.perplexity = 3.8e36;
    a.decode_tps = 1e5;
    r.artifacts.push_back(a);
  }
  auto job = std::async(std::launch::async, [&] { return pipeline_report_html(r); });
  if (job.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "pipeline_report_html did not finish in 20 s";
    std::fflush(stdout);
    std::_Exit(1);  // the worker cannot be stopped; end the test binary rather than hang
  }
  const std::string html = job.get();
  const std::regex bad_number(R"re(="[^"]*(nan|inf)[^"]*")re", std::regex::icase);
  std::smatch m;
  EXPECT_FALSE(std::regex_search(html, m, bad_number)) << m.str();
  EXPECT_NE(html.find("not plotted (no finite value): X0, X1, X2"), std::string::npos) << html;
}

// Every number a chart prints is the table's own cell text, and every label stays inside its
// chart: x within the drawing's width for every <text> of every chart, long names cut with an
// ellipsis (full name in the tooltip).
TEST(PipelineReport, ChartNumbersMatchTableAndLabelsFit) {
  PipelineResult r = sample_result();
  PipelineArtifact long_name = r.artifacts[1];
  long_name.name = "stories260K-" + std::string(80, 'x') + "-Q8_0";
  long_name.prefill_tps = 123456.78;
  long_name.decode_tps = 9.87;
  long_name.perplexity = 4.91234;
  r.artifacts.push_back(long_name);
  const std::string html = pipeline_report_html(r);
  // Table cells: 45000.0, 6100.0, 123456.8, 9.9; perplexities 4.8801 and 4.9123.
  for (const char* cell : {">45000.0<", ">6100.0<", ">123456.8<", ">9.9<"}) {
    size_t n = 0;
    for (size_t p = html.find(cell); p != std::string::npos; p = html.find(cell, p + 1)) ++n;
    EXPECT_GE(n, 2u) << cell << ": in the table and in the bar chart";
  }
  EXPECT_NE(html.find("Q8_0 4.8801</text>"), std::string::npos) << html;
  EXPECT_NE(html.find("4.9123</text>"), std::string::npos);
  EXPECT_NE(html.find("\xE2\x80\xA6"), std::string::npos);              // the long name, cut
  EXPECT_NE(html.find("<title>" + long_name.name), std::string::npos);  // and whole on hover
  const std::regex svg(R"re(<svg [^>]*width="(\d+)")re");
  const std::regex text_x(R"re(<text x="(-?[0-9.]+)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), svg); it != std::sregex_iterator();
       ++it) {
    const double width = std::stod((*it)[1]);
    const size_t start = static_cast<size_t>(it->position());
    const size_t end = html.find("</svg>", start);
    const std::string chart = html.substr(start, end - start);
    for (auto t = std::sregex_iterator(chart.begin(), chart.end(), text_x);
         t != std::sregex_iterator(); ++t) {
      const double x = std::stod((*t)[1]);
      EXPECT_GE(x, 0.0) << t->str();
      EXPECT_LE(x, width) << t->str();
    }
  }
}

}  // namespace
}  // namespace slmkit
