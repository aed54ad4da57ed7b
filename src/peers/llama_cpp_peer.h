// llama.cpp as a peer: libllama + ggml opened with dlopen at first use so that libslmkit has no
// link-time dependency on it; a native build of the bundled source when one is present, else the
// prebuilt libraries npm @node-llama-cpp/linux-x64 ships (peers/llama_cpp_build.h). Parity
// tests (logits, tokens, quantized bytes) and `slmkit bench --vs llama.cpp` reach llama.cpp only
// through this header.
//
// The library is process-wide state (ggml's backend registry and logger are globals), so it is
// loaded once, from the folder llama_cpp_build.h chooses, and never unloaded.
// Everything here throws slmkit::Error; where llama.cpp explains a failure only through its log,
// the message carries what it logged. A LlamaCppContext serves one thread at a time; a model may
// tokenize from several (llama.cpp's tokenizer is thread-safe).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "peers/llama_cpp_build.h"
#include "quant/llama_ftype.h"

namespace slmkit::peers {

using LlamaToken = int32_t;

enum class LlamaCppLogLevel { debug, info, warn, error };
// Receives llama.cpp's log lines (text keeps its trailing newline). May be called from llama.cpp's
// worker threads; calls are serialized.
using LlamaCppLogSink = std::function<void(LlamaCppLogLevel level, std::string_view text)>;

// What got loaded, for reports and benchmark tables.
struct LlamaCppRuntimeInfo {
  LlamaCppBuild build;  // which build, and why not the native one where that applies
  std::filesystem::path library_dir;
  std::filesystem::path llama_library;    // the libllama file that was opened
  std::filesystem::path cpu_backend;      // the ggml CPU backend file the registry chose
  std::string cpu_variant;                // "zen4", "haswell", "x64", ... (the file name's suffix)
  bool cpu_variant_forced = false;        // by SLMKIT_LLAMA_CPP_CPU_VARIANT, not ggml's scoring
  std::vector<std::string> cpu_features;  // as the CPU backend reports them: "AVX2", "SVE_CNT=16"
  std::string cpu_description;            // the CPU device's description (model name)
  std::string version;                    // llama_version()
  std::string system_info;                // llama_print_system_info()

  // One line for benchmark output: "llama.cpp native build (GGML_NATIVE=ON, commit de3ff81...)
  // at DIR; CPU backend built-in (libggml-cpu.so): AVX2 AVX512 ...".
  std::string describe() const;
};

struct LlamaCppQuantizeOptions {
  // A llama_ftype (quant/llama_ftype.h: llama_ftype_from_name).
  int32_t ftype = static_cast<int32_t>(quant::LlamaFtype::Q8_0);
  int n_threads = 0;  // 0: llama.cpp picks (hardware concurrency)
  bool allow_requantize = false;
  bool quantize_output_tensor = true;
  bool pure = false;  // every tensor to `ftype`, no per-tensor mixes (K-quant _M/_S rules off)
  // Per-column importance weights by tensor name (what llama-quantize passes after reading an
  // imatrix file: sums / counts). Empty: no imatrix.
  std::map<std::string, std::vector<float>> imatrix;
};

class LlamaCppPeer {
 public:
  // Loads the library on the first call; never throws.
  static bool available();
  // Why available() is false ("" when it is true): a missing folder, a dlopen error, a symbol the
  // header declares but the binary lacks, a CPU backend that did not load.
  static std::string unavailable_reason();
  // The folder the library is (or would be) loaded from: see llama_cpp_build.h.
  static std::filesystem::path library_dir();
  // Throws Error(unsupported) carrying unavailable_reason() when the library is not there.
  static const LlamaCppRuntimeInfo& runtime();

  // Silent by default (or SLMKIT_LLAMA_CPP_LOG=1 in the environment: forward to stderr). An empty
  // sink silences again. May be set before the library is loaded.
  static void set_log_sink(LlamaCppLogSink sink);
  static void forward_log_to_stderr();

  // llama_model_quantize(input -> output). The output is written under a temporary name beside
  // `output` and renamed into place only when llama.cpp reports success.
  static void quantize(const std::filesystem::path& input, const std::filesystem::path& output,
                       const LlamaCppQuantizeOptions& options = {});
};

struct LlamaCppModelOptions {
  bool use_mmap = true;
  bool vocab_only = false;  // tokenizer use: no tensor is loaded, no context can be made
  bool check_tensors = false;
};

struct LlamaCppModelInfo {
  std::string architecture;  // general.architecture
  std::string description;   // llama_model_desc, e.g. "llama ?B all F32"
  uint64_t n_params = 0;     // every element of every tensor
  uint64_t size_bytes = 0;   // sum of tensor data sizes (not the file size)
  int32_t ftype = 0;
  std::string ftype_name;  // llama_ftype_name, e.g. "Q8_0", "Q4_K - Medium"
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  LlamaToken bos = -1;
  LlamaToken eos = -1;
  bool add_bos = false;
  bool add_eos = false;
};

class LlamaCppContext;

// A loaded GGUF (weights, or only the vocabulary). Copies share the one llama_model.
class LlamaCppModel {
 public:
  static LlamaCppModel load(const std::filesystem::path& gguf,
                            const LlamaCppModelOptions& options = {});
  static LlamaCppModel load_vocab(const std::filesystem::path& gguf);

  const std::filesystem::path& path() const;
  bool vocab_only() const;
  LlamaCppModelInfo info() const;
  // A GGUF metadata value rendered as a string by llama.cpp; nullopt when absent (arrays are).
  std::optional<std::string> metadata(const std::string& key) const;

  int32_t n_vocab() const;
  bool is_end_of_generation(LlamaToken token) const;
  // add_special: BOS/EOS as the vocabulary asks; parse_special: "<s>" in the text becomes the
  // control token instead of plain text.
  std::vector<LlamaToken> tokenize(std::string_view text, bool add_special,
                                   bool parse_special) const;
  // special: render control tokens ("<s>") instead of nothing.
  std::string token_to_piece(LlamaToken token, bool special = false) const;
  // remove_special: drop a leading BOS / trailing EOS the vocabulary adds; unparse_special: render
  // control tokens as text.
  std::string detokenize(std::span<const LlamaToken> tokens, bool remove_special = false,
                         bool unparse_special = false) const;

  struct Impl;

 private:
  friend class LlamaCppContext;
  explicit LlamaCppModel(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

enum class LlamaCppFlashAttention { automatic, disabled, enabled };

struct LlamaCppContextOptions {
  uint32_t n_ctx = 512;       // KV cache positions
  uint32_t n_batch = 512;     // most tokens one llama_decode call takes
  uint32_t n_ubatch = 0;      // physical batch; 0: min(n_batch, 512) as llama.cpp defaults
  int n_threads = 0;          // 0: std::thread::hardware_concurrency()
  bool kv_cache_f32 = false;  // llama.cpp keeps K and V in F16 by default; F32 for tight parity
  LlamaCppFlashAttention flash_attention = LlamaCppFlashAttention::automatic;
  // A threadpool made for this context and attached to it, as llama-bench and llama-cli do;
  // without it ggml starts and joins its threads on every graph.
  bool own_threadpool = true;
};

// Logits of every position: row i (n_vocab floats) predicts the token after tokens[i].
struct LlamaCppLogits {
  int32_t n_tokens = 0;
  int32_t n_vocab = 0;
  std::vector<float> values;  // [n_tokens, n_vocab], row-major
  std::span<const float> row(int32_t i) const {
    return std::span<const float>(values).subspan(static_cast<size_t>(i) * n_vocab, n_vocab);
  }
};

// Wall-clock samples of one benchmark, one per repetition, as llama-bench records them.
struct LlamaCppTiming {
  int32_t n_tokens = 0;
  std::vector<uint64_t> samples_ns;
  double mean_tokens_per_s() const;
  double stdev_tokens_per_s() const;  // sample standard deviation (n - 1), as llama-bench
};

struct LlamaCppBenchOptions {
  int reps = 5;        // llama-bench's default repetitions
  bool warmup = true;  // one untimed run first, as llama-bench without --no-warmup
  uint32_t seed = 42;  // random token ids; the content does not change the cost
};

class LlamaCppContext {
 public:
  LlamaCppContext(const LlamaCppModel& model, const LlamaCppContextOptions& options = {});
  ~LlamaCppContext();
  LlamaCppContext(LlamaCppContext&&) noexcept;
  LlamaCppContext& operator=(LlamaCppContext&&) noexcept;
  LlamaCppContext(const LlamaCppContext&) = delete;
  LlamaCppContext& operator=(const LlamaCppContext&) = delete;

  // What llama.cpp actually made (it may round what was asked).
  uint32_t n_ctx() const;
  uint32_t n_batch() const;
  int n_threads() const;

  void clear();  // empties the KV cache

  // Clears the KV cache, then decodes `tokens` at positions 0.. in one batch with every output
  // requested. tokens.size() must be at most n_batch() and n_ctx().
  LlamaCppLogits logits(std::span<const LlamaToken> tokens);

  // Clears the KV cache, decodes `prompt` and appends the argmax token n_new times (ties go to the
  // lowest id, as llama.cpp's greedy sampler). Returns the new tokens only; with stop_at_eog it
  // stops after the first end-of-generation token.
  std::vector<LlamaToken> generate_greedy(std::span<const LlamaToken> prompt, int32_t n_new,
                                          bool stop_at_eog = false);

  // llama-bench's pp<n_prompt>: per repetition, clear the KV cache (untimed), then decode n_prompt
  // random tokens (BOS first where the vocabulary adds one) in chunks of n_batch, only the last
  // output requested, and synchronize.
  LlamaCppTiming bench_prompt(int32_t n_prompt, const LlamaCppBenchOptions& options = {});
  // llama-bench's tg<n_gen>: per repetition, clear, then n_gen single-token decodes, each
  // synchronized. Warmup decodes one token.
  LlamaCppTiming bench_generate(int32_t n_gen, const LlamaCppBenchOptions& options = {});

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace slmkit::peers
