// Mixed-precision quantization chosen by measurement (`slmkit quantize -t auto`): every weight
// matrix's type is picked from a list of candidates so that the summed sensitivity is smallest
// while the GGUF file stays within a size budget.
//
// Sensitivity, measured: for each quantizable tensor and each candidate type, the model with only
// that tensor quantized (the rest as loaded) is run by our engine over calibration chunks, and its
// mean KL divergence from the unquantized model's output distribution is the tensor's cost for
// that type (llama-perplexity's KLD, through the same driver). Sizes are exact: the file's header
// and every tensor's padded bytes, from the type registry and the GGUF writer's layout.
// Search: a multiple-choice knapsack (dynamic programming over bytes in coarse units, each
// candidate's size rounded up, so the plan never exceeds the budget), then a pass that spends the
// rounding slack on the best single upgrades by exact bytes. Deterministic: tensors in name order,
// ties to the smaller type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/model.h"
#include "slmkit/progress.h"
#include "slmkit/quantize.h"

namespace slmkit {

std::vector<std::string> default_auto_types();  // Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_0, F16

class Engine;

struct AutoSensitivityOptions {
  std::vector<std::string> types = default_auto_types();  // candidate types
  // Calibration tokens as tokenized for perplexity (BOS first where the vocabulary adds one); cut
  // into n_chunks chunks of n_ctx tokens, scored on each chunk's second half (as perplexity).
  std::vector<int32_t> calibration;
  int64_t n_ctx = 128;
  int64_t n_chunks = 4;
  bool add_bos = true;
  int32_t bos_id = -1;
  int n_threads = 0;  // 0: one per hardware thread
  // Each candidate quantized with these importance weights, as `quantize --imatrix` would
  // quantize it (llama.cpp's weighted quantizers); null: plain.
  std::shared_ptr<const ImportanceMatrix> imatrix;
  ProgressCallback on_progress;
  CancelToken cancel;
};

struct AutoCandidate {
  std::string type;    // as llama.cpp spells it ("q4_K"): after the row fallback
  std::string asked;   // the candidate it stands for ("q4_K", or "q2_K" that fell back to q4_0)
  uint64_t bytes = 0;  // the tensor's data bytes in this type
  double kld = 0;      // mean KLD with only this tensor of this type
  // Measured kernel time of this tensor's product in this type (attach_kernel_costs): one token
  // (decode) and AutoKernelCosts::prefill_tokens tokens (prefill); 0 where not measured or the
  // engine never multiplies by the tensor (an untied token embedding is only looked up).
  double decode_seconds = 0;
  double prefill_seconds = 0;
};

struct AutoTensor {
  std::string name;
  std::string from;  // the loaded type
  Shape shape;
  std::vector<AutoCandidate> candidates;  // distinct resulting types, smallest first
};

struct AutoSensitivity {
  std::vector<AutoTensor> tensors;  // the quantizable tensors, in name order
  uint64_t header_bytes = 0;        // the GGUF header (key-values, tensor infos, padding)
  uint64_t header_bytes_plain = 0;  // the same without block types (no quantization_version)
  uint64_t fixed_bytes = 0;         // padded data of the tensors kept as they are
  uint64_t alignment = 32;
  uint64_t n_elements = 0;  // of every tensor the file stores (for bits per weight)
  double base_ppl = 0;      // of the calibration chunks, unquantized
  int64_t n_scored = 0;     // calibration positions scored
  double seconds = 0;
  // Decode time per token outside the searched matrices (attention, norms, sampling, the tensors
  // kept as they are): from one real engine decode step (attach_kernel_costs); < 0: unknown.
  double decode_overhead_seconds = -1;
  // The importance matrix the candidates were measured with (apply_mix quantizes with it too).
  std::shared_ptr<const ImportanceMatrix> imatrix;

  uint64_t padded(uint64_t bytes) const { return (bytes + alignment - 1) / alignment * alignment; }
  uint64_t min_file_bytes() const;  // every tensor at its smallest candidate
  uint64_t max_file_bytes() const;  // every tensor at its largest
  // The file size a bits-per-weight budget allows: bpw * n_elements / 8 of tensor data (as
  // llama.cpp's loader reports BPW: data bytes * 8 / elements) plus the header.
  uint64_t bytes_for_bpw(double bpw) const;
};

// The candidates and their exact sizes, nothing measured (KLDs NaN): enough to check a budget
// (check_budget) before the measurement. Error(invalid_input) for an unknown candidate type, an
// already-quantized or no quantizable tensor.
AutoSensitivity auto_candidates(const Model& model, const std::vector<std::string>& types);

// Error(invalid_input) naming the smallest reachable file size when target_bytes is below it.
void check_budget(const AutoSensitivity& sizes, uint64_t target_bytes);

// auto_candidates, then every (tensor, candidate) pair measured. Error(invalid_input) for an
// unknown candidate type, a model without quantizable tensors, or too few calibration tokens (2 *
// n_ctx at least).
AutoSensitivity measure_sensitivity(const Model& model, const AutoSensitivityOptions& options);

// Measured cost of our kernels on this CPU: per distinct (rows, cols) matrix shape and weight
// type, the seconds of one product with 1 token (decode) and prefill_tokens tokens (prefill),
// activation conversion included, on n_threads threads as the engine splits rows. Each cell is the
// median of repetitions run for a fixed time budget. Cached per machine and build in
// cache_dir/kernel-costs-<cpu-id>-<build-id>.json (the build id names the version, the compiler,
// the instruction set SLMKIT_ISA resolves to and a digest of the binary holding the kernels), so a
// changed kernel path or a rebuilt kernel measures again.
struct KernelCostCell {
  int64_t rows = 0;
  int64_t cols = 0;
  std::string type;  // llama.cpp's spelling
  double decode_seconds = 0;
  double prefill_seconds = 0;
};

struct AutoKernelCosts {
  std::string cpu_id;
  std::string build_id;
  std::string isa;
  int n_threads = 1;
  int64_t prefill_tokens = 64;
  std::vector<KernelCostCell> cells;
  std::filesystem::path cache_file;  // empty: not cached
  int64_t measured_cells = 0;        // cells measured now (the rest came from the cache)
  double seconds = 0;                // spent measuring

  const KernelCostCell* find(int64_t rows, int64_t cols, const std::string& type) const;
};

struct KernelCostOptions {
  int n_threads = 0;  // 0: one per hardware thread
  int64_t prefill_tokens = 64;
  double seconds_per_cell = 0.02;  // time budget of one (shape, type) cell, decode and prefill each
  // Where the cache file goes; empty: $XDG_CACHE_HOME/slmkit, else $HOME/.cache/slmkit; "-": none.
  std::filesystem::path cache_dir;
};

// The default cache directory (see KernelCostOptions::cache_dir).
std::filesystem::path default_kernel_cost_dir();

// Measures (or reads from the cache) the cells for every shape of `s`'s tensors and every
// candidate type they have, plus the types they are loaded as.
AutoKernelCosts measure_kernel_costs(const AutoSensitivity& s, const KernelCostOptions& options);

// Fills every candidate's decode/prefill seconds from `costs` and measures
// decode_overhead_seconds: the median time of real engine decode steps of `model` with every
// searched tensor at its median candidate (on costs.n_threads threads) minus the kernel time
// those matrices take.
void attach_kernel_costs(AutoSensitivity& s, const AutoKernelCosts& costs, const Model& model);

// The decode seconds per token a plan predicts: overhead plus its matrices' decode times.
double predicted_decode_seconds(const AutoSensitivity& s, const std::vector<size_t>& chosen);

// A decode step of `engine` on `n_threads` threads, timed as `slmkit bench`'s text generation
// times it (single tokens from position 0 of a cleared session, runs of 128 as its default tg128,
// the median of a quarter of a second at least).
double timed_decode_step_seconds(const Engine& engine, int n_threads);

// Two engines' decode steps timed in turns, run by run (each run as timed_decode_step_seconds
// times one), so that both meet the same moment of a machine whose speed drifts: each one's
// median seconds per token, and the median of the per-pair ratios a / b.
struct PairedDecodeTiming {
  double a_seconds = 0;
  double b_seconds = 0;
  double ratio = 0;
};
PairedDecodeTiming timed_decode_steps_in_turns(const Engine& a, const Engine& b, int n_threads);

struct AutoChoice {
  std::string name;
  size_t chosen = 0;  // index into the tensor's candidates
};

struct AutoMixPlan {
  uint64_t target_bytes = 0;
  uint64_t file_bytes = 0;        // the planned GGUF's size, exactly
  double sum_kld = 0;             // the chosen candidates' summed KLDs (the search's objective)
  double max_decode_seconds = 0;  // the time budget per token; 0: none
  double decode_seconds = 0;      // predicted decode time per token (0: costs not measured)
  double measured_kld = -1;  // the whole mix measured on the calibration chunks; < 0: not measured
  // With a time budget: the mix's own decode step, timed on the engine (measure_mix_decode_seconds)
  // after the search, and which search produced this plan (quantize_auto tightens the budget the
  // search sees when the timed step misses it; 1: the first). 0: not timed.
  double measured_decode_seconds = 0;
  int speed_rounds = 0;
  // With QuantizeAutoOptions::as_fast_as: the reference file's decode step, timed in turns with
  // the plan's (measured_decode_seconds) at the same moment. 0: no reference.
  double reference_decode_seconds = 0;
  // When the reference's types are all among the candidates (a preset of the same model): its
  // plan's summed KLD and predicted decode time (the first search's budget). < 0: not a plan.
  double reference_sum_kld = -1;
  double reference_predicted_seconds = -1;
  // Whether the timed step met the budget (against a reference: no slower than it, timed in
  // turns); true when not timed.
  bool measured_within_budget() const;
  std::vector<AutoChoice> choices;  // one per AutoSensitivity::tensors entry, same order

  // Per-tensor types for QuantizeOptions::tensor_types.
  std::map<std::string, std::string> tensor_types(const AutoSensitivity& s) const;
  nlohmann::ordered_json to_json(const AutoSensitivity& s) const;  // the .mix.json document
  std::string to_text(const AutoSensitivity& s) const;             // one line per tensor
};

// The mix of smallest summed KLD whose file is at most target_bytes and, when max_decode_seconds
// > 0, whose predicted decode time per token (predicted_decode_seconds, which needs
// attach_kernel_costs) is at most that. The time constraint is met by a Lagrangian search: a
// price per second added to every candidate's KLD, bisected to the smallest price whose
// byte-exact knapsack plan is fast enough, then single changes that improve the KLD within both
// budgets. Error(invalid_input) naming the smallest reachable size when even that exceeds the
// budget, or the fastest reachable decode time (and its tokens per second) when that is slower.
AutoMixPlan choose_mix(const AutoSensitivity& sensitivity, uint64_t target_bytes,
                       double max_decode_seconds = 0);

// The mean KLD of the model with the whole mix applied, on the same calibration chunks (to check
// that per-tensor KLDs add up).
double measure_mix_kld(const Model& model, const AutoSensitivity& sensitivity,
                       const AutoMixPlan& plan, const AutoSensitivityOptions& options);

// quantize_model with the plan's per-tensor types.
Model apply_mix(const Model& model, const AutoSensitivity& sensitivity, const AutoMixPlan& plan,
                int n_threads, QuantizeReport* report = nullptr);

// The plan giving each searched tensor the type it has in `types` (tensor name -> llama.cpp's
// type name, e.g. a preset file's), with its summed KLD, predicted decode time and exact file
// size; nullopt when a tensor is missing there or its type is not one of its candidates.
std::optional<AutoMixPlan> plan_of_types(const AutoSensitivity& sensitivity,
                                         const std::map<std::string, std::string>& types);
// The same with each tensor's type as `reference` stores it (e.g. a preset file, loaded).
std::optional<AutoMixPlan> plan_of_types(const AutoSensitivity& sensitivity,
                                         const Model& reference);

// The plan within target_bytes of the smallest predicted decode time (KLD breaks ties): what
// choose_mix's error names when a time budget cannot be met.
AutoMixPlan fastest_mix(const AutoSensitivity& sensitivity, uint64_t target_bytes);

// The search held to a reference plan's predicted decode time (plan_of_types) within
// target_bytes: choose_mix under that time, or the reference itself where it fits the bytes and
// the search's plan has a larger summed KLD (the Lagrangian search can leave a gap). With no plan
// within the bytes predicted that fast: the plan of the bytes alone.
AutoMixPlan choose_mix_against(const AutoSensitivity& sensitivity, uint64_t target_bytes,
                               const AutoMixPlan& reference);

// quantize_auto's check of a plan against measured speed (see there), with the timing as a
// parameter: `time_plan` gives a plan's decode seconds per token (measure_mix_decode_seconds).
AutoMixPlan meet_measured_speed(const AutoSensitivity& sensitivity, AutoMixPlan plan,
                                uint64_t target_bytes, double max_decode_seconds,
                                const std::function<double(const AutoMixPlan&)>& time_plan);

// The decode step of `model` with the plan applied, timed (timed_decode_step_seconds).
double measure_mix_decode_seconds(const Model& model, const AutoSensitivity& sensitivity,
                                  const AutoMixPlan& plan, int n_threads);

// Writes the quantized model (apply_mix's result) as GGUF at `path` and the plan as JSON at
// `path` + ".mix.json", each to a temporary name renamed into place. Error(internal) when the
// file's size is not the planned one (the file is then removed and no JSON is written).
void save_mix(const Model& quantized, const AutoSensitivity& sensitivity, const AutoMixPlan& plan,
              const std::filesystem::path& path);

// The whole of `slmkit quantize -t auto` as one call (the CLI, the pipeline and the MCP tool use
// it): calibration text tokenized as perplexity does, the budget checked before anything is
// measured, sensitivity measured, kernel costs measured when a speed budget is given, the mix
// chosen and measured whole, and (unless dry_run) OUT.gguf and OUT.gguf.mix.json written.
// With a speed budget the hardware stays in the loop: the chosen mix's own decode step is timed,
// and while it misses the budget (the per-product costs do not add up exactly to a whole step),
// the budget the search sees is tightened by the measured ratio and the search runs again, at
// most 4 searches; the first plan measured within the budget is kept, else the fastest measured,
// and AutoMixPlan::measured_decode_seconds says which it is.
struct QuantizeAutoOptions {
  std::string calibration_text;
  uint64_t target_size = 0;   // bytes; or
  double target_bpw = 0;      // bits per weight of tensor data; and/or
  double min_decode_tps = 0;  // decode tokens per second predicted on this machine
  // Or: a GGUF file (e.g. the Q4_K_M preset) the mix must decode at least as fast as. Its decode
  // step is timed first (the search's budget) and then in turns with each plan's, five times
  // each at the same moment, so the machine's drift between runs does not decide; a plan meets it
  // when its median step is no slower than the reference's. When the file's types are a plan of
  // the candidates (a preset of this model), the first search is held to that plan's predicted
  // time (choose_mix_against).
  std::filesystem::path as_fast_as;
  std::vector<std::string> types = default_auto_types();
  int64_t n_ctx = 128;
  int64_t n_chunks = 4;
  int n_threads = 0;
  bool dry_run = false;
  std::shared_ptr<const ImportanceMatrix> imatrix;  // as AutoSensitivityOptions::imatrix
  KernelCostOptions costs;                          // n_threads is taken from above
  ProgressCallback on_progress;
  CancelToken cancel;
};

struct QuantizeAutoResult {
  AutoSensitivity sensitivity;
  AutoMixPlan plan;
  bool costs_measured = false;
  AutoKernelCosts costs;
  std::string file_type;  // the written file's general.file_type name
  bool written = false;
};

// Error(invalid_input) when neither a size/bpw nor a speed budget is given, both size and bpw
// are, or a budget cannot be met (nothing is written then).
QuantizeAutoResult quantize_auto(const Model& model, const QuantizeAutoOptions& options,
                                 const std::filesystem::path& output);

}  // namespace slmkit
