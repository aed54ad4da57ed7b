// slmkit's engine measured exactly as llama-bench measures llama.cpp (see bench_stats.h).
#include <fmt/format.h>

#include "bench/bench_stats.h"
#include "core/fail.h"
#include "core/type_bytes.h"
#include "peers/llama_cpp_peer.h"
#include "quant/llama_ftype.h"
#include "slmkit/engine.h"
#include "slmkit/model.h"

namespace slmkit {
namespace {

// llama_model_desc's shape: "llama 1.1B Q8_0". The type is general.file_type when the file says
// it, else the storage type holding most matrix bytes.
std::string model_type(const Model& model) {
  std::string type;
  const auto& meta = model.source.metadata;
  if (meta.is_object() && meta.contains("general.file_type") &&
      meta["general.file_type"].is_number_integer()) {
    type = std::string(quant::llama_ftype_name(meta["general.file_type"].get<int32_t>()));
  }
  if (type.empty()) {
    if (const auto most = most_matrix_type(model)) type = std::string(dtype_name(*most));
  }
  const double p = static_cast<double>(model.n_parameters());
  const std::string size =
      p >= 1e9 ? fmt::format("{:.1f}B", p * 1e-9) : fmt::format("{:.0f}M", p * 1e-6);
  return fmt::format("{} {} {}", model.config.arch, size, type);
}

}  // namespace

namespace bench {

void check_options(const BenchOptions& options) {
  if (options.n_prompt < 0 || options.n_gen < 0 || options.repetitions < 1) {
    fail_invalid("bench: -p {} and -n {} must be >= 0 and -r {} >= 1", options.n_prompt,
                 options.n_gen, options.repetitions);
  }
}

std::vector<BenchRow> bench_engine(const Engine& engine, const std::filesystem::path& path,
                                   const BenchOptions& options) {
  check_options(options);
  const Model& model = engine.model();
  SessionOptions so;
  so.n_ctx = std::max<int64_t>(1, std::max(options.n_prompt, options.n_gen));
  so.n_threads = options.n_threads;
  so.kv_type = options.kv_type;
  Session session(engine, so);

  BenchRow base;
  base.backend = BenchBackend::slmkit;
  base.model_filename = path.string();
  base.model_type = model_type(model);
  base.model_size = model.n_bytes();
  base.model_n_params = static_cast<uint64_t>(model.n_parameters());
  base.n_threads = session.n_threads();
  for (const Tensor& t : model.tensors()) {
    const bool embedding = t.name() == "token_embd.weight" || t.name() == "position_embd.weight";
    if (t.rank() == 2 && !embedding) base.bytes_per_token += t.n_bytes();
  }
  if (!model.find("output.weight"))
    base.bytes_per_token += model.get("token_embd.weight").n_bytes();
  base.type_k = std::string(dtype_name(options.kv_type));
  for (char& c : base.type_k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  const int64_t vocab = engine.config().vocab_size;
  const bool add_bos = model.vocab.add_bos.value_or(false) && engine.config().bos_id >= 0;
  const int32_t bos = add_bos ? engine.config().bos_id : -1;
  std::mt19937 rng(42);  // llama-bench's tokens are random too; the seed only makes runs repeatable

  std::vector<BenchRow> rows;
  if (options.n_prompt > 0) {
    BenchRow row = base;
    row.n_prompt = options.n_prompt;
    if (options.warmup)
      bench::time_prompt_ns(session, bench::random_tokens(rng, row.n_prompt, vocab, bos));
    for (int r = 0; r < options.repetitions; ++r) {
      const auto tokens = bench::random_tokens(rng, row.n_prompt, vocab, bos);
      row.samples_ns.push_back(bench::time_prompt_ns(session, tokens));
    }
    bench::finish_row(row);
    row.peak_rss_bytes = bench::peak_rss_bytes();
    rows.push_back(std::move(row));
  }
  if (options.n_gen > 0) {
    BenchRow row = base;
    row.n_gen = options.n_gen;
    if (options.warmup) bench::time_generate_ns(session, bench::random_tokens(rng, 1, vocab, bos));
    for (int r = 0; r < options.repetitions; ++r) {
      const auto tokens = bench::random_tokens(rng, row.n_gen, vocab, bos);
      row.samples_ns.push_back(bench::time_generate_ns(session, tokens));
    }
    bench::finish_row(row);
    row.peak_rss_bytes = bench::peak_rss_bytes();
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace bench

std::vector<BenchRow> bench_slmkit(const std::filesystem::path& path, const BenchOptions& options) {
  bench::check_options(options);
  bench::reset_peak_rss();
  const Engine engine(load_model(path));
  return bench::bench_engine(engine, path, options);
}

}  // namespace slmkit
