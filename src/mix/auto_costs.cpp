// Measured kernel costs for -t auto's time budget: each (matrix shape, weight type) product timed
// on our own kernels as the engine runs them (activations converted per token, rows split over
// the thread pool past the engine's size threshold, packed layouts where the kernels have them),
// cached per machine and build; and the fixed part of a decode step from a real engine step.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/quant_kernels.h"
#include "kernels/weight_types.h"
#include "quant/quant.h"
#include "slmkit/engine.h"
#include "slmkit/manifest.h"
#include "slmkit/quantize_auto.h"
#include "slmkit/version.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The engine's threshold below which a product runs on the calling thread (session_impl.h).
constexpr int64_t kMinParallelMacs = int64_t{1} << 16;
// The copies cycled through stay within this (past the last-level cache of any CPU we run on).
constexpr uint64_t kMaxWorkingSet = uint64_t{256} << 20;

std::string sanitized(std::string_view in) {
  std::string out;
  for (char c : in) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (keep) {
      out += c;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "unknown" : out;
}

std::string cpu_id() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown_cpu";
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(colon + 1);
      break;
    }
  }
  return sanitized(model) + "_" + std::to_string(std::thread::hardware_concurrency()) + "t";
}

// The first 12 hex digits of the SHA-256 of the file holding this code (the executable, or the
// shared library libslmkit is built as): a rebuilt kernel is a new file, even at the same version.
// "nobinary" where the file cannot be found or read (the cells are then keyed by version only).
std::string binary_digest() {
  static const std::string digest = [] {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&measure_kernel_costs), &info) == 0 || !info.dli_fname) {
      return std::string("nobinary");
    }
    // The main program's name is as it was started (maybe relative to another directory).
    fs::path file = info.dli_fname;
    if (!file.is_absolute()) file = "/proc/self/exe";
    try {
      return sha256_file(file).substr(0, 12);
    } catch (const Error&) {
      return std::string("nobinary");
    }
  }();
  return digest;
}

std::string build_id(const std::string& isa) {
#if defined(__clang__)
  const std::string compiler = fmt::format("clang{}.{}", __clang_major__, __clang_minor__);
#elif defined(__GNUC__)
  const std::string compiler = fmt::format("gcc{}.{}", __GNUC__, __GNUC_MINOR__);
#else
  const std::string compiler = "cc";
#endif
  return sanitized(fmt::format("{}_{}_{}_{}", version(), compiler, isa, binary_digest()));
}

std::string cell_key(int n_threads, int64_t prefill, int64_t rows, int64_t cols,
                     const std::string& type, uint64_t working_set) {
  return fmt::format("t{}/p{}/{}x{}/{}/ws{}MiB", n_threads, prefill, rows, cols, type, working_set);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One product W x for n_tokens tokens as Session::Impl::matmul does it (one job).
class ProductBench {
 public:
  // `working_set` bytes of weights are cycled through (copies of the matrix), so the weights come
  // from the cache level a decode step streaming the whole model finds them in, not from L1.
  ProductBench(DType type, int64_t rows, int64_t cols, int64_t max_tokens, uint64_t working_set,
               ThreadPool& pool)
      : pool_(pool) {
    kernels_ = kernels::find_weight_kernels(type);
    if (!kernels_) fail_invalid("kernel costs: no kernels for {}", dtype_name(type));
    std::mt19937 rng(1234);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (float& v : w) v = normal(rng);
    std::vector<std::byte> bytes;
    if (type == DType::F32) {
      bytes.resize(w.size() * sizeof(float));
      std::memcpy(bytes.data(), w.data(), bytes.size());
    } else {
      bytes = quant::quantize_rows(type, w, cols, 1);
    }
    const std::optional<uint64_t> rb = row_bytes(type, static_cast<uint64_t>(cols));
    const kernels::MatrixRef one{type, bytes.data(), rows, cols, static_cast<int64_t>(*rb)};
    const size_t packed = kernels::packed_bytes(one);
    const uint64_t each = std::max<uint64_t>(1, bytes.size() + packed);
    const size_t copies = static_cast<size_t>(
        std::clamp<uint64_t>(std::min(working_set, kMaxWorkingSet) / each, 1, 256));
    bytes_.resize(copies);
    packed_.resize(copies);
    for (size_t c = 0; c < copies; ++c) {
      bytes_[c] = bytes;
      kernels::MatrixRef w_c = one;
      w_c.data = bytes_[c].data();
      if (packed) {
        packed_[c].resize(packed);
        kernels::pack_matrix(w_c, packed_[c].data());
        w_c.packed = packed_[c].data();
      }
      w_.push_back(w_c);
    }
    x_.resize(static_cast<size_t>(max_tokens * cols));
    for (float& v : x_) v = normal(rng) * 20.0f;
    act_row_ = kernels_->activation == DType::F32
                   ? cols * static_cast<int64_t>(sizeof(float))
                   : static_cast<int64_t>(kernels_->activation_bytes(cols));
    act_.resize(static_cast<size_t>(max_tokens * act_row_) + 64);
    y_.resize(static_cast<size_t>(max_tokens * rows));
  }

  void run(int64_t n_tokens) {
    const kernels::MatrixRef& w = w_[next_];
    next_ = (next_ + 1) % w_.size();
    const int64_t cols = w.cols, rows = w.rows;
    const void* act = x_.data();
    if (kernels_->activation != DType::F32) {
      for (int64_t t = 0; t < n_tokens; ++t) {
        kernels_->convert_activation(x_.data() + t * cols, cols, act_.data() + t * act_row_);
      }
      act = act_.data();
    }
    auto part = [&](int64_t r0, int64_t r1, int) {
      kernels_->matmul(w, act, act_row_, n_tokens, y_.data(), rows, r0, r1);
    };
    if (rows * cols * n_tokens < kMinParallelMacs) {
      part(0, rows, 0);
    } else {
      pool_.parallel_for(rows, part, 16);
    }
  }

  // Median seconds of run(n_tokens) over repetitions within `budget` seconds (3 at least).
  double time(int64_t n_tokens, double budget) {
    run(n_tokens);  // warm the caches and the pool
    std::vector<double> reps;
    const auto end = Clock::now() + std::chrono::duration<double>(budget);
    while (reps.size() < 3 || (Clock::now() < end && reps.size() < 10000)) {
      const auto t0 = Clock::now();
      run(n_tokens);
      reps.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return median(std::move(reps));
  }

 private:
  ThreadPool& pool_;
  const kernels::WeightKernels* kernels_ = nullptr;
  std::vector<std::vector<std::byte>> bytes_, packed_;  // one per copy
  std::vector<kernels::MatrixRef> w_;
  size_t next_ = 0;
  std::vector<std::byte> act_;
  std::vector<float> x_, y_;
  int64_t act_row_ = 0;
};

// Whether a decode step multiplies by this tensor: an untied token embedding is only looked up.
bool multiplied(const Model& model, const std::string& name) {
  if (name == "token_embd.weight") return model.config.tied_embeddings;
  return true;
}

}  // namespace

fs::path default_kernel_cost_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "slmkit";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return fs::path(home) / ".cache" / "slmkit";
  }
  return {};
}

const KernelCostCell* AutoKernelCosts::find(int64_t rows, int64_t cols,
                                            const std::string& type) const {
  for (const KernelCostCell& c : cells) {
    if (c.rows == rows && c.cols == cols && c.type == type) return &c;
  }
  return nullptr;
}

AutoKernelCosts measure_kernel_costs(const AutoSensitivity& s, const KernelCostOptions& options) {
  const auto start = Clock::now();
  AutoKernelCosts costs;
  costs.isa = kernels::current_isa();
  costs.cpu_id = cpu_id();
  costs.build_id = build_id(costs.isa);
  costs.n_threads = options.n_threads > 0
                        ? options.n_threads
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  costs.prefill_tokens = std::max<int64_t>(1, options.prefill_tokens);

  const fs::path dir = options.cache_dir.empty() ? default_kernel_cost_dir() : options.cache_dir;
  if (!dir.empty() && dir != "-") {
    costs.cache_file = dir / fmt::format("kernel-costs-{}-{}.json", costs.cpu_id, costs.build_id);
  }
  nlohmann::json cache = nlohmann::json::object();
  if (!costs.cache_file.empty()) {
    std::ifstream in(costs.cache_file);
    if (in) {
      try {
        cache = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception&) {
        cache = nlohmann::json::object();  // a damaged cache is measured again and rewritten
      }
      if (!cache.is_object() || !cache.contains("cells") || !cache["cells"].is_object()) {
        cache = nlohmann::json::object();
      }
    }
  }
  if (!cache.contains("cells")) cache["cells"] = nlohmann::json::object();
  cache["cpu_id"] = costs.cpu_id;
  cache["build_id"] = costs.build_id;
  cache["isa"] = costs.isa;

  // Distinct (rows, cols, type): the candidates and the loaded types, in a stable order.
  std::vector<std::tuple<int64_t, int64_t, std::string>> wanted;
  for (const AutoTensor& t : s.tensors) {
    const int64_t cols = t.shape.back();
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < t.shape.size(); ++d) rows *= t.shape[d];
    wanted.emplace_back(rows, cols, t.from);
    for (const AutoCandidate& c : t.candidates) wanted.emplace_back(rows, cols, c.type);
  }
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());

  // A decode step reads every matrix once: the bytes of the searched tensors at the candidate's
  // median size stand for the working set the weights of one product are found in.
  uint64_t working_set = 0;
  for (const AutoTensor& t : s.tensors) working_set += t.candidates[t.candidates.size() / 2].bytes;

  ThreadPool pool(costs.n_threads);
  bool changed = false;
  for (const auto& [rows, cols, type] : wanted) {
    // The working set in MiB (rounded up) keys the cell: models of similar size share cells.
    const uint64_t ws_mib = (working_set + (1u << 20) - 1) >> 20;
    const std::string key =
        cell_key(costs.n_threads, costs.prefill_tokens, rows, cols, type, ws_mib);
    KernelCostCell cell{rows, cols, type, 0, 0};
    const nlohmann::json& cached = cache["cells"];
    if (auto it = cached.find(key); it != cached.end() && it->is_array() && it->size() == 2) {
      cell.decode_seconds = (*it)[0].get<double>();
      cell.prefill_seconds = (*it)[1].get<double>();
    } else {
      const std::optional<DType> dt = dtype_from_name(type);
      if (!dt) fail_invalid("kernel costs: unknown type '{}'", type);
      ProductBench bench(*dt, rows, cols, costs.prefill_tokens, working_set, pool);
      cell.decode_seconds = bench.time(1, options.seconds_per_cell);
      cell.prefill_seconds = bench.time(costs.prefill_tokens, options.seconds_per_cell);
      cache["cells"][key] = {cell.decode_seconds, cell.prefill_seconds};
      ++costs.measured_cells;
      changed = true;
    }
    costs.cells.push_back(std::move(cell));
  }
  if (changed && !costs.cache_file.empty()) {
    std::error_code ec;
    fs::create_directories(costs.cache_file.parent_path(), ec);
    // A cache that cannot be written only costs a new measurement next time.
    try {
      write_file_atomic(costs.cache_file, cache.dump(1));
    } catch (const Error&) {
    }
  }
  costs.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return costs;
}

void attach_kernel_costs(AutoSensitivity& s, const AutoKernelCosts& costs, const Model& model) {
  for (AutoTensor& t : s.tensors) {
    const int64_t cols = t.shape.back();
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < t.shape.size(); ++d) rows *= t.shape[d];
    const bool mul = multiplied(model, t.name);
    for (AutoCandidate& c : t.candidates) {
      const KernelCostCell* cell = costs.find(rows, cols, c.type);
      if (!cell) fail(ErrorKind::internal, "kernel costs: no cell for {} {}", t.name, c.type);
      c.decode_seconds = mul ? cell->decode_seconds : 0.0;
      c.prefill_seconds = mul ? cell->prefill_seconds : 0.0;
    }
  }

  // The fixed cost is measured on the model quantized to every tensor's median candidate: a
  // calibration point among the plans the search weighs, so an error of the cells far from it
  // (the float types' large products) does not leak into every prediction.
  AutoMixPlan middle;
  std::vector<size_t> chosen;
  for (const AutoTensor& t : s.tensors) {
    chosen.push_back(t.candidates.size() / 2);
    middle.choices.push_back({t.name, chosen.back()});
  }
  double middle_matrices = 0;
  for (size_t i = 0; i < chosen.size(); ++i) {
    middle_matrices += s.tensors[i].candidates[chosen[i]].decode_seconds;
  }

  const Engine engine{apply_mix(model, s, middle, costs.n_threads)};
  s.decode_overhead_seconds =
      std::max(0.0, timed_decode_step_seconds(engine, costs.n_threads) - middle_matrices);
}

double measure_mix_decode_seconds(const Model& model, const AutoSensitivity& s,
                                  const AutoMixPlan& plan, int n_threads) {
  const Engine engine{apply_mix(model, s, plan, n_threads)};
  return timed_decode_step_seconds(engine, n_threads);
}

namespace {

// Runs of decode steps as the benchmark's text generation times them (bench_slmkit: a cleared
// session of the default context, single tokens from position 0), 128 tokens per run (the
// benchmark's and llama-bench's default tg128, so a speed budget read off `slmkit bench` means the
// same steps; attention over the run's growing context is part of the fixed cost).
class DecodeRuns {
 public:
  DecodeRuns(const Engine& engine, int n_threads) : session_(engine, options(n_threads)) {
    const int64_t n_run = std::min<int64_t>(128, session_.n_ctx());
    std::mt19937 rng(42);
    tokens_.resize(static_cast<size_t>(n_run));
    const auto n_vocab = static_cast<uint64_t>(std::max<int64_t>(1, session_.n_vocab()));
    for (int32_t& t : tokens_) t = static_cast<int32_t>(rng() % n_vocab);
  }

  // Seconds per token of one run.
  double run() {
    session_.clear();
    const auto t0 = Clock::now();
    for (const int32_t& t : tokens_) session_.eval(std::span<const int32_t>(&t, 1));
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return seconds / static_cast<double>(tokens_.size());
  }

 private:
  static SessionOptions options(int n_threads) {
    SessionOptions so;
    so.n_threads = n_threads;
    return so;
  }
  Session session_;
  std::vector<int32_t> tokens_;
};

}  // namespace

double timed_decode_step_seconds(const Engine& engine, int n_threads) {
  // The median of runs for a quarter of a second at least (4 runs at least, the first warms up).
  DecodeRuns runs(engine, n_threads);
  std::vector<double> steps;
  const auto end = Clock::now() + std::chrono::milliseconds(250);
  for (int rep = 0; rep < 4 || (Clock::now() < end && rep < 10000); ++rep) {
    const double step = runs.run();
    if (rep > 0) steps.push_back(step);
  }
  return median(std::move(steps));
}

PairedDecodeTiming timed_decode_steps_in_turns(const Engine& a, const Engine& b, int n_threads) {
  // Runs alternate a, b, b, a, ... (each engine first in half the pairs), for a second at least
  // and 9 pairs at least after one pair that warms up. The ratio is the median of each pair's
  // ratio: a drift of the machine's speed slower than one pair cancels in it.
  DecodeRuns ra(a, n_threads), rb(b, n_threads);
  std::vector<double> ta, tb, ratio;
  const auto end = Clock::now() + std::chrono::seconds(1);
  for (int rep = 0; rep < 10 || (Clock::now() < end && rep < 10000); ++rep) {
    double x = 0, y = 0;
    if (rep % 2 == 0) {
      x = ra.run();
      y = rb.run();
    } else {
      y = rb.run();
      x = ra.run();
    }
    if (rep == 0) continue;
    ta.push_back(x);
    tb.push_back(y);
    ratio.push_back(x / y);
  }
  return {median(std::move(ta)), median(std::move(tb)), median(std::move(ratio))};
}

}  // namespace slmkit
