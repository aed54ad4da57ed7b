// Shared pieces of every backend's benchmark: llama-bench's random prompt, its statistics, the
// process's peak memory. The engine bench program (bench/engine_bench.cpp) uses these too, so
// that its numbers and `slmkit bench`'s are computed one way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <vector>

#include "slmkit/bench.h"

namespace slmkit {
class Engine;
class Session;
}  // namespace slmkit

namespace slmkit::bench {

// n random ids below `vocab` drawn as llama-bench draws them (rng() % vocab), `bos` first when it
// is >= 0. The content does not change the cost of a dense model.
std::vector<int32_t> random_tokens(std::mt19937& rng, int64_t n, int64_t vocab, int32_t bos);

// pp: clear the session (untimed), evaluate `tokens` (in passes of the session's n_batch) and
// return the elapsed nanoseconds.
double time_prompt_ns(Session& session, std::span<const int32_t> tokens);
// tg: clear (untimed), then one single-token pass per id of `tokens`, starting at position 0.
double time_generate_ns(Session& session, std::span<const int32_t> tokens);

// Fills samples_ts, the means, sample standard deviations (n - 1, as llama-bench), ms/token and
// time to first token from samples_ns and the row's n_prompt / n_gen.
void finish_row(BenchRow& row);

// Rows as bench_slmkit measures them, on an engine already loaded from `path` (named in the rows);
// peak RSS is the process's since the last reset_peak_rss.
std::vector<BenchRow> bench_engine(const Engine& engine, const std::filesystem::path& path,
                                   const BenchOptions& options);
// Error(invalid_input) for negative sizes or no repetitions.
void check_options(const BenchOptions& options);

// VmHWM of this process in bytes (0 where /proc is absent), and a reset of it (Linux's
// clear_refs "5"), so that one process can measure one test after another.
uint64_t peak_rss_bytes();
void reset_peak_rss();

}  // namespace slmkit::bench
