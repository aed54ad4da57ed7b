// llama.cpp's own numbers through the peer adapter, in the same row shape as slmkit's.
#include <algorithm>

#include "bench/bench_stats.h"
#include "core/fail.h"
#include "peers/llama_cpp_peer.h"

namespace slmkit {

std::vector<BenchRow> bench_llama_cpp(const std::filesystem::path& gguf,
                                      const BenchOptions& options) {
  if (options.n_prompt < 0 || options.n_gen < 0 || options.repetitions < 1) {
    fail_invalid("bench: -p {} and -n {} must be >= 0 and -r {} >= 1", options.n_prompt,
                 options.n_gen, options.repetitions);
  }
  if (!peers::LlamaCppPeer::available()) {
    fail_unsupported("llama.cpp is not available: {}", peers::LlamaCppPeer::unavailable_reason());
  }
  if (options.kv_type != DType::F16 && options.kv_type != DType::F32) {
    fail_unsupported("bench: llama.cpp KV cache type must be f16 or f32");
  }
  bench::reset_peak_rss();
  const auto model = peers::LlamaCppModel::load(gguf);
  const auto info = model.info();
  peers::LlamaCppContextOptions co;
  // As llama-bench: a context of n_prompt + n_gen; one pass per test, so ours holds the longer.
  co.n_ctx = static_cast<uint32_t>(std::max<int64_t>(1, std::max(options.n_prompt, options.n_gen)));
  co.n_threads = options.n_threads;
  co.kv_cache_f32 = options.kv_type == DType::F32;
  peers::LlamaCppContext ctx(model, co);

  BenchRow base;
  base.backend = BenchBackend::llama_cpp;
  base.model_filename = gguf.string();
  base.model_type = info.description;
  base.model_size = info.size_bytes;
  base.model_n_params = info.n_params;
  base.n_threads = ctx.n_threads();
  base.type_k = options.kv_type == DType::F32 ? "f32" : "f16";
  base.backend_build = peers::LlamaCppPeer::runtime().describe();
  peers::LlamaCppBenchOptions bo;
  bo.reps = options.repetitions;
  bo.warmup = options.warmup;

  std::vector<BenchRow> rows;
  for (const bool prompt : {true, false}) {
    const int64_t n = prompt ? options.n_prompt : options.n_gen;
    if (n <= 0) continue;
    const auto timing = prompt ? ctx.bench_prompt(static_cast<int32_t>(n), bo)
                               : ctx.bench_generate(static_cast<int32_t>(n), bo);
    BenchRow row = base;
    (prompt ? row.n_prompt : row.n_gen) = n;
    for (uint64_t ns : timing.samples_ns) row.samples_ns.push_back(static_cast<double>(ns));
    bench::finish_row(row);
    row.peak_rss_bytes = bench::peak_rss_bytes();
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace slmkit
