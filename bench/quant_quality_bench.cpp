// The quantization quality table of docs/quantization.md, in one command:
//
//   build/bin/quant_quality_bench [--out DIR] [--threads N] [--imatrix-chunks N] [--chunks N]
//                                 [--types Q4_K_M,Q2_K]
//
// stories3M (../shared/fixtures): every type and preset, quantized four ways: llama.cpp's
// llama_model_quantize and slmkit's quantize_model, each without and with the same importance
// matrix (collected by slmkit imatrix on the training part of the TinyStories subset, i.e. the
// text before the held-out tail). Every file is measured by ONE tool: llama.cpp's runtime (the
// peer library) evaluates it on the held-out last 39,700 bytes in chunks of 256 tokens, and
// slmkit's compute_kl_divergence compares its log-probabilities with the F32 model's, saved
// once by write_kl_base (llama-perplexity's --kl-divergence-base format). Then stories260K
// (64- and 172-wide rows): which tensors fall back to which type, and what that costs.
// A fifth file per type is slmkit's --imatrix-best: each row keeps llama.cpp's weighted result
// or the reference one, whichever has the smaller imatrix-weighted error.
// Prints markdown tables on stdout.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "formats/gguf.h"
#include "peers/llama_cpp_peer.h"
#include "slmkit/engine.h"
#include "slmkit/imatrix.h"
#include "slmkit/model.h"
#include "slmkit/perplexity.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using namespace slmkit;
using peers::LlamaCppContext;
using peers::LlamaCppModel;
using peers::LlamaCppPeer;

constexpr size_t kHeldOutBytes = 39700;  // the fixtures README: held out from stories3M's training

struct Measured {
  uint64_t bytes = 0;  // tensor data
  double bpw = 0;
  KlDivergenceResult kl;
};

uint64_t tensor_bytes(const fs::path& gguf_path) {
  const gguf::File f = gguf::read_file(gguf_path);
  uint64_t n = 0;
  for (const gguf::TensorInfo& t : f.tensors) n += t.n_bytes;
  return n;
}

// llama.cpp's runtime as the evaluator: every position's logits of one chunk.
ChunkLogits llama_cpp_logits(const fs::path& gguf_path, int n_ctx, int n_threads) {
  auto model = std::make_shared<LlamaCppModel>(LlamaCppModel::load(gguf_path));
  peers::LlamaCppContextOptions o;
  o.n_ctx = static_cast<uint32_t>(n_ctx);
  o.n_batch = static_cast<uint32_t>(n_ctx);
  o.n_threads = n_threads;
  auto ctx = std::make_shared<LlamaCppContext>(*model, o);
  auto buffer = std::make_shared<peers::LlamaCppLogits>();
  return [model, ctx, buffer](std::span<const int32_t> chunk) {
    *buffer = ctx->logits(chunk);
    return std::span<const float>(buffer->values);
  };
}

// Files with identical tensor bytes (slmkit's and llama.cpp's, which is the usual case) are
// measured once: the evaluation is the slow part of this program.
std::map<size_t, Measured> g_measured;

size_t tensor_digest(const fs::path& gguf_path) {
  const gguf::File f = gguf::read_file(gguf_path);
  size_t h = 0;
  for (const gguf::TensorInfo& t : f.tensors) {
    const std::span<const std::byte> d = f.tensor_data(t);
    h = h * 1000003u ^ std::hash<std::string_view>{}(
                           std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
    h = h * 1000003u ^ static_cast<size_t>(t.type);
  }
  return h;
}

Measured measure(const fs::path& file, const fs::path& base, int64_t n_vocab, int64_t n_params,
                 const PerplexityOptions& o) {
  const size_t digest = tensor_digest(file);
  if (const auto it = g_measured.find(digest); it != g_measured.end()) return it->second;
  Measured m;
  m.bytes = tensor_bytes(file);
  m.bpw = 8.0 * static_cast<double>(m.bytes) / static_cast<double>(n_params);
  m.kl = compute_kl_divergence(llama_cpp_logits(file, static_cast<int>(o.n_ctx), o.n_threads),
                               n_vocab, base, o);
  g_measured[digest] = m;
  return m;
}

std::string row(const std::string& type, const std::string& who, const Measured& m) {
  return fmt::format("| {} | {} | {} | {:.3f} | {:.4f} | {:.6f} | {:.2f}% |\n", type, who, m.bytes,
                     m.bpw, m.kl.ppl, m.kl.kld_mean, 100.0 * m.kl.same_top);
}

std::string read_all(const fs::path& p) {
  std::FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + p.string());
  std::string s;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path out = "/tmp/slmkit-quality";
  int threads = 2;
  int64_t imatrix_chunks = 100;
  int64_t eval_chunks = -1;
  std::string only_types;  // "Q4_K_M,Q2_K": a subset of the table, for experiments
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--out") out = argv[i + 1];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    if (a == "--imatrix-chunks") imatrix_chunks = std::atoll(argv[i + 1]);
    if (a == "--chunks") eval_chunks = std::atoll(argv[i + 1]);
    if (a == "--types") only_types = argv[i + 1];
  }
  if (!LlamaCppPeer::available()) {
    std::fprintf(stderr, "llama.cpp peer not available: %s\n",
                 LlamaCppPeer::unavailable_reason().c_str());
    return 1;
  }
  const fs::path fixtures = fs::path(SLMKIT_SOURCE_DIR) / "../shared/fixtures";
  const fs::path s3m = fixtures / "models/stories3M/stories3M.gguf";
  const fs::path s260 = fixtures / "models/gguf-stories260K/stories260K.gguf";
  fs::create_directories(out);
  const auto t_start = std::chrono::steady_clock::now();

  const std::string text = read_all(fixtures / "text/tinystories_val_subset.txt");
  const std::string train = text.substr(0, text.size() - kHeldOutBytes);
  const std::string held_out = text.substr(text.size() - kHeldOutBytes);

  // Tokens and options as llama-perplexity -c 256 on the held-out text.
  Model model = load_model(s3m);
  const Tokenizer tokenizer(model.vocab);
  const int64_t n_vocab = model.config.vocab_size;
  int64_t n_params = 0;
  for (const Tensor& t : model.tensors()) n_params += t.n_elements();
  PerplexityOptions po;
  po.n_ctx = 256;
  po.bos_id = tokenizer.bos_id();
  po.add_bos = true;
  po.n_threads = threads;
  po.n_chunks = eval_chunks;
  const std::vector<int32_t> eval_tokens = tokenizer.encode(held_out, true);
  const fs::path base = out / "stories3M-f32.kl";
  const PerplexityResult base_ppl =
      write_kl_base(llama_cpp_logits(s3m, 256, threads), n_vocab, eval_tokens, po, base);
  std::fprintf(stderr, "base: F32 PPL %.4f over %lld chunks\n", base_ppl.ppl,
               static_cast<long long>(base_ppl.n_chunks));

  // The importance matrix, from the training part only.
  ImatrixOptions io;
  io.n_ctx = 256;
  io.n_chunks = imatrix_chunks;
  io.bos_id = tokenizer.bos_id();
  io.n_threads = threads;
  io.dataset = "tinystories_val_subset.txt minus its last 39,700 bytes";
  const Engine engine(model);
  auto imatrix = std::make_shared<const ImportanceMatrix>(
      collect_imatrix(engine, tokenizer.encode(train, true), io));
  write_imatrix(*imatrix, out / "stories3M.imatrix.gguf");
  std::map<std::string, std::vector<float>> weights;
  for (const auto& [name, e] : imatrix->entries) weights[name] = imatrix->weights(name);

  std::vector<std::string> types = {"Q8_0",   "Q6_K",   "Q5_K_M", "Q5_K_S", "Q5_1",
                                    "Q5_0",   "Q4_K_M", "Q4_K_S", "Q4_1",   "Q4_0",
                                    "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K"};
  if (!only_types.empty()) {
    types.clear();
    for (size_t p = 0; p <= only_types.size();) {
      const size_t comma = std::min(only_types.find(',', p), only_types.size());
      types.push_back(only_types.substr(p, comma - p));
      p = comma + 1;
    }
  }
  std::string table =
      "| type | quantized by | bytes | bpw | PPL | mean KLD | same top-1 |\n"
      "|---|---|---|---|---|---|---|\n";
  std::string summary =
      "| type | bytes | llama.cpp | slmkit | llama.cpp + imatrix | slmkit + imatrix | slmkit + "
      "imatrix, best of both |\n|---|---|---|---|---|---|---|\n";
  for (const std::string& type : types) {
    const fs::path theirs = out / ("llama-" + type + ".gguf");
    const fs::path theirs_im = out / ("llama-" + type + "-imatrix.gguf");
    const fs::path ours = out / ("slmkit-" + type + ".gguf");
    const fs::path ours_im = out / ("slmkit-" + type + "-imatrix.gguf");
    const fs::path ours_best = out / ("slmkit-" + type + "-imatrix-best.gguf");
    peers::LlamaCppQuantizeOptions lq;
    lq.ftype = quant::llama_ftype_from_name(type).value();
    lq.n_threads = threads;
    LlamaCppPeer::quantize(s3m, theirs, lq);
    lq.imatrix = weights;
    LlamaCppPeer::quantize(s3m, theirs_im, lq);
    QuantizeOptions q;
    q.type = type;
    q.n_threads = threads;
    save_model(quantize_model(model, q), ours, ModelFormat::gguf);
    q.imatrix = imatrix;
    save_model(quantize_model(model, q), ours_im, ModelFormat::gguf);
    q.imatrix_best_of_both = true;
    save_model(quantize_model(model, q), ours_best, ModelFormat::gguf);
    const Measured a = measure(theirs, base, n_vocab, n_params, po);
    const Measured b = measure(ours, base, n_vocab, n_params, po);
    const Measured c = measure(ours_im, base, n_vocab, n_params, po);
    const Measured d = measure(theirs_im, base, n_vocab, n_params, po);
    const Measured e = measure(ours_best, base, n_vocab, n_params, po);
    table += row(type, "llama.cpp", a) + row(type, "slmkit", b) +
             row(type, "llama.cpp + imatrix", d) + row(type, "slmkit + imatrix", c) +
             row(type, "slmkit + imatrix, best of both", e);
    summary +=
        fmt::format("| {} | {} | {:.6f} | {:.6f} | {:.6f} | {:.6f} | {:.6f} |\n", type, a.bytes,
                    a.kl.kld_mean, b.kl.kld_mean, d.kl.kld_mean, c.kl.kld_mean, e.kl.kld_mean);
    std::fprintf(stderr, "%s: KLD llama.cpp %.6f, slmkit %.6f, +imatrix %.6f / %.6f, best %.6f\n",
                 type.c_str(), a.kl.kld_mean, b.kl.kld_mean, d.kl.kld_mean, c.kl.kld_mean,
                 e.kl.kld_mean);
  }

  // stories260K: rows of 64 and 172 fit no K-quant block; the report says what each became.
  Model small = load_model(s260);
  int64_t small_params = 0;
  for (const Tensor& t : small.tensors()) small_params += t.n_elements();
  const fs::path small_base = out / "stories260K-f32.kl";
  PerplexityOptions spo = po;
  write_kl_base(llama_cpp_logits(s260, 256, threads), small.config.vocab_size, eval_tokens, spo,
                small_base);
  std::string fallbacks =
      "| preset | bytes | bpw | fallbacks | what fell back | PPL | mean KLD | same top-1 |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const char* type : {"Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K"}) {
    QuantizeOptions q;
    q.type = type;
    q.n_threads = threads;
    QuantizeReport report;
    const fs::path ours = out / ("slmkit-260K-" + std::string(type) + ".gguf");
    save_model(quantize_model(small, q, &report), ours, ModelFormat::gguf);
    std::map<std::string, int> moves;  // "q4_K -> q5_0 (row of 64)": count
    for (const TensorQuantization& t : report.tensors) {
      if (!t.fallback) continue;
      ++moves[t.reason];
    }
    std::string what;
    for (const auto& [reason, n] : moves)
      what += fmt::format("{}{} x {}", what.empty() ? "" : "; ", n, reason);
    const Measured m = measure(ours, small_base, small.config.vocab_size, small_params, spo);
    fallbacks +=
        fmt::format("| {} | {} | {:.3f} | {} | {} | {:.4f} | {:.6f} | {:.2f}% |\n", type, m.bytes,
                    m.bpw, report.n_fallback, what, m.kl.ppl, m.kl.kld_mean, 100.0 * m.kl.same_top);
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf(
      "stories3M, held-out tail (%lld chunks of 256 tokens), F32 PPL %.4f; imatrix from "
      "%lld chunks of the training part\n\n%s\n%s\nstories260K, same text and "
      "chunks\n\n%s\n(%.0f s, %d threads)\n",
      static_cast<long long>(base_ppl.n_chunks), base_ppl.ppl,
      static_cast<long long>(imatrix->chunk_count), summary.c_str(), table.c_str(),
      fallbacks.c_str(), seconds, threads);
  return 0;
}
