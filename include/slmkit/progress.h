// Progress reports and cooperative cancellation of the long operations (quantize_model,
// export_onnx, validate_artifact, test_inference, run_pipeline).
//
// The caller keeps a CancelToken, puts a copy in the operation's options (copies share one flag)
// and calls cancel() from any thread. The operation looks at the flag between units of work (a
// tensor, a graph, a check, a pipeline step) and throws Cancelled; every writer of the library
// writes under a temporary name and renames only a finished file, so a cancelled operation leaves
// no partial file behind.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string_view>

namespace slmkit {

// Thrown by an operation whose CancelToken was cancelled. Deliberately not an slmkit::Error:
// code that records an Error and goes on (the pipeline records a failed build and continues,
// validation turns an Error into a failed check) must not swallow a cancellation, for the same
// reason Python's CancelledError is not an Exception.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "operation cancelled"; }
};

class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const noexcept { flag_->store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return flag_->load(std::memory_order_relaxed); }
  void throw_if_cancelled() const {
    if (cancelled()) throw Cancelled();
  }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// Called on the operation's own thread with `done` of `total` units of the stage named by
// `what` ("quantize blk.3.ffn_up.weight", "graph onnx/model_int8.onnx"); done only grows within
// one operation. It may cancel the operation's token; it must not throw anything but Cancelled.
using ProgressCallback = std::function<void(int64_t done, int64_t total, std::string_view what)>;

}  // namespace slmkit
