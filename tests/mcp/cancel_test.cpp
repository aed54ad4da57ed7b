// Cancellation and progress. The cancel arrives at a chosen point: the test holds the worker
// inside a progress notification (its send blocks) until the server has read the cancel, so
// what is checked does not depend on timing. Then: no reply for the call, no output, no
// temporary left anywhere in the root.
#include <future>

#include <gtest/gtest.h>

#include "mcp_harness.h"
#include "slmkit/export_onnx.h"
#include "slmkit/model.h"
#include "slmkit/pipeline.h"
#include "slmkit/quantize.h"
#include "support/fixtures.h"

namespace slmkit::testing {
namespace {
namespace fs = std::filesystem;

std::vector<fs::path> leftovers(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().filename().string().find(".partial-") != std::string::npos) {
      out.push_back(e.path());
    }
  }
  return out;
}

// Blocks the worker in the nth progress notification whose message starts with `trigger`,
// until release() (called after the cancel has been handed to the server). The worker holds the
// server's output while it waits: the test must not expect a reply before release().
class Gate {
 public:
  Gate(McpHarness& h, std::string trigger, int nth = 1) : trigger_(std::move(trigger)), nth_(nth) {
    h.on_send = [this](const ojson& m) {
      if (m.value("method", "") != "notifications/progress" || fired_) return;
      if (!m["params"]["message"].get<std::string>().starts_with(trigger_)) return;
      if (++seen_ < nth_) return;
      fired_ = true;
      reached_.set_value();
      released_.get_future().wait();
    };
  }
  void wait_reached() { reached_.get_future().wait(); }
  void release() { released_.set_value(); }

 private:
  std::string trigger_;
  int nth_ = 1;
  int seen_ = 0;        // touched by the worker only
  bool fired_ = false;  // touched by the worker only
  std::promise<void> reached_, released_;
};

void send_cancel(McpHarness& h, int id) {
  h.send({{"jsonrpc", "2.0"},
          {"method", "notifications/cancelled"},
          {"params", {{"requestId", id}, {"reason", "test"}}}});
}

class McpCancel : public ::testing::Test {
 protected:
  void SetUp() override {
    SLMKIT_REQUIRE_FIXTURES();
    root_ = temp_dir("mcp-cancel");
    fs::copy_file(fixture("models/gguf-stories260K/stories260K.gguf"), root_ / "s.gguf");
  }
  fs::path root_;
};

TEST_F(McpCancel, OnnxExportCancelledBetweenGraphsLeavesNothing) {
  McpHarness h({root_});
  h.initialize();
  // Held before the third graph: two graphs are in the temporary folder by then.
  Gate gate(h, "graph onnx/", 3);
  h.call(5, "export_onnx", {{"model_path", "s.gguf"}, {"output_path", "o"}}, true);
  gate.wait_reached();
  int graphs_written = 0;
  for (const auto& e : fs::directory_iterator(root_)) {
    if (!e.path().filename().string().starts_with("o.partial-")) continue;
    for (const auto& g : fs::directory_iterator(e.path() / "onnx")) {
      graphs_written += g.path().extension() == ".onnx";
    }
  }
  EXPECT_EQ(graphs_written, 2) << "the export had written graphs before the cancel";
  send_cancel(h, 5);
  gate.release();
  h.wait_idle();
  EXPECT_TRUE(h.response(5).is_null()) << "a cancelled request gets no response";
  EXPECT_FALSE(fs::exists(root_ / "o"));
  EXPECT_EQ(leftovers(root_), std::vector<fs::path>{});
  // The server goes on serving.
  h.send_raw(R"({"jsonrpc":"2.0","id":6,"method":"ping"})");
  EXPECT_EQ(h.response(6)["result"], ojson::object());
}

TEST_F(McpCancel, GgufExportCancelledWhileQuantizingLeavesNothing) {
  McpHarness h({root_});
  h.initialize();
  Gate gate(h, "quantize blk.2");
  h.call(1, "export_gguf",
         {{"model_path", "s.gguf"}, {"output_path", "q.gguf"}, {"quant_type", "Q8_0"}}, true);
  gate.wait_reached();
  send_cancel(h, 1);
  gate.release();
  h.wait_idle();
  EXPECT_TRUE(h.response(1).is_null());
  EXPECT_FALSE(fs::exists(root_ / "q.gguf"));
  EXPECT_EQ(leftovers(root_), std::vector<fs::path>{});
}

TEST_F(McpCancel, QueuedCallsRunInOrderAndCanBeCancelledBeforeTheyStart) {
  McpHarness h({root_});
  h.initialize();
  Gate gate(h, "quantize");
  h.call(1, "export_gguf",
         {{"model_path", "s.gguf"}, {"output_path", "a.gguf"}, {"quant_type", "Q8_0"}}, true);
  gate.wait_reached();
  h.call(2, "export_gguf",
         {{"model_path", "s.gguf"}, {"output_path", "b.gguf"}, {"quant_type", "Q8_0"}});
  h.call(3, "inspect_model", {{"model_path", "s.gguf"}});
  // Read while call 1 runs (its worker is held inside a send, so nothing can be answered now).
  send_cancel(h, 2);
  gate.release();
  h.wait_idle();
  EXPECT_EQ(h.response(1)["result"]["isError"], false);
  EXPECT_TRUE(h.response(2).is_null());
  EXPECT_FALSE(fs::exists(root_ / "b.gguf"));
  EXPECT_EQ(h.response(3)["result"]["isError"], false);
  // One at a time, in order: 1's result is sent before 3's.
  const auto all = h.messages();
  size_t at1 = 0, at3 = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].contains("result") && all[i]["id"] == 1) at1 = i;
    if (all[i].contains("result") && all[i]["id"] == 3) at3 = i;
  }
  EXPECT_LT(at1, at3);
}

TEST_F(McpCancel, ProgressGrowsToOneHundredBeforeTheResult) {
  McpHarness h({root_});
  h.initialize();
  h.call(1, "export_onnx",
         {{"model_path", "s.gguf"}, {"output_path", "o"}, {"variants", {"plain", "with_past"}}},
         true);
  h.call(2, "inspect_model", {{"model_path", "s.gguf"}});  // no token: no progress
  h.wait_idle();
  const std::vector<ojson> p = h.progress("p1");
  ASSERT_GE(p.size(), 4u);  // load, two graphs, exported / done
  for (size_t i = 1; i < p.size(); ++i) {
    EXPECT_GT(p[i]["progress"].get<double>(), p[i - 1]["progress"].get<double>());
  }
  EXPECT_EQ(p.back()["progress"], 100.0);
  for (const ojson& x : p) EXPECT_EQ(x["total"], 100);
  size_t last_progress = 0, result = 0, other_progress = 0;
  const auto all = h.messages();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].value("method", "") == "notifications/progress") {
      last_progress = i;
      other_progress += all[i]["params"]["progressToken"] != "p1";
    }
    if (all[i].contains("result") && all[i]["id"] == 1) result = i;
  }
  EXPECT_LT(last_progress, result);
  EXPECT_EQ(other_progress, 0u);
}

// The library's own hooks, without the server.
TEST_F(McpCancel, LibraryOperationsStopAtTheirNextUnit) {
  const Model model = load_model(root_ / "s.gguf");
  CancelToken token;
  QuantizeOptions q;
  q.type = "Q8_0";
  q.cancel = token;
  int64_t seen = 0;
  q.on_progress = [&](int64_t done, int64_t, std::string_view) {
    seen = done;
    if (done == 3) token.cancel();
  };
  EXPECT_THROW(quantize_model(model, q), Cancelled);
  EXPECT_EQ(seen, 3);  // stopped before the fourth tensor

  CancelToken onnx_token;
  OnnxExportOptions o;
  o.cancel = onnx_token;
  o.on_progress = [&](int64_t done, int64_t total, std::string_view) {
    EXPECT_EQ(total, 4);
    if (done == 2) onnx_token.cancel();
  };
  EXPECT_THROW(export_onnx(model, root_ / "lib_onnx", o), Cancelled);
  EXPECT_FALSE(fs::exists(root_ / "lib_onnx"));

  // The pipeline records Errors and goes on; a cancellation is not one and stops it.
  CancelToken pipeline_token;
  PipelineOptions p;
  p.model = root_ / "s.gguf";
  p.out = root_ / "pipe";
  p.gguf = {"Q8_0", "Q4_0"};
  p.onnx = {};
  p.cancel = pipeline_token;
  std::vector<std::string> lines;
  p.on_progress = [&](const std::string& line) {
    lines.push_back(line);
    if (line.starts_with("[2/")) pipeline_token.cancel();
  };
  EXPECT_THROW(run_pipeline(p), Cancelled);
  EXPECT_TRUE(fs::exists(root_ / "pipe" / "s-Q8_0.gguf"));  // finished before: kept, complete
  EXPECT_FALSE(fs::exists(root_ / "pipe" / "report.md"));
  EXPECT_EQ(leftovers(root_), std::vector<fs::path>{});
}

}  // namespace
}  // namespace slmkit::testing
