// What the KV cache buys: one generation timed with it and without it (prefix recomputed).
#include <algorithm>
#include <chrono>

#include "bench/bench_stats.h"
#include "core/fail.h"
#include "slmkit/engine.h"
#include "slmkit/model.h"

namespace slmkit {

nlohmann::ordered_json KvCacheComparison::to_json() const {
  nlohmann::ordered_json j;
  j["n_prompt"] = n_prompt;
  j["n_gen"] = n_gen;
  j["n_threads"] = n_threads;
  j["cached_ns"] = cached_ns;
  j["recompute_ns"] = recompute_ns;
  j["speedup"] = speedup();
  return j;
}

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

KvCacheComparison bench_kv_cache_vs_recompute(const std::filesystem::path& path,
                                              const BenchOptions& options) {
  if (options.n_prompt < 1 || options.n_gen < 1 || options.repetitions < 1) {
    fail_invalid("bench --kv-vs-recompute: -p {} and -n {} must be >= 1, -r {} >= 1",
                 options.n_prompt, options.n_gen, options.repetitions);
  }
  Engine engine(load_model(path));
  SessionOptions so;
  so.n_ctx = options.n_prompt + options.n_gen;
  so.n_batch = so.n_ctx;  // a recomputed prefix is one pass, as in a model without a cache
  so.n_threads = options.n_threads;
  so.kv_type = options.kv_type;
  Session session(engine, so);
  const int32_t bos = engine.model().vocab.add_bos.value_or(false) ? engine.config().bos_id : -1;
  std::mt19937 rng(42);
  const auto tokens = bench::random_tokens(rng, so.n_ctx, engine.config().vocab_size, bos);
  const std::span<const int32_t> all(tokens);
  const auto n_prompt = static_cast<size_t>(options.n_prompt);
  const auto n_gen = static_cast<size_t>(options.n_gen);

  auto cached = [&] {
    session.clear();
    const auto start = std::chrono::steady_clock::now();
    session.eval(all.first(n_prompt));
    for (size_t i = 1; i < n_gen; ++i) session.eval(all.subspan(n_prompt + i - 1, 1));
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
        .count();
  };
  auto recompute = [&] {
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n_gen; ++i) {
      session.clear();
      session.eval(all.first(n_prompt + i));
    }
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
        .count();
  };
  if (options.warmup) cached(), recompute();
  std::vector<double> with_cache, without;
  for (int r = 0; r < options.repetitions; ++r) {
    with_cache.push_back(cached());
    without.push_back(recompute());
  }
  KvCacheComparison c;
  c.n_prompt = options.n_prompt;
  c.n_gen = options.n_gen;
  c.n_threads = session.n_threads();
  c.cached_ns = median(with_cache);
  c.recompute_ns = median(without);
  return c;
}

}  // namespace slmkit
