// slmkit perplexity -m MODEL -f TEXT [-c CTX] [--chunks N] [-t THREADS] [--kv-type f16|f32]
//                   [--kl-base FILE]              also save the base log-probabilities
// slmkit perplexity -m MODEL --kl-divergence FILE  compare with a saved base (llama.cpp's format)
// MODEL: a GGUF, Hugging Face folder or llama2.c checkpoint in our engine, or an ONNX export
// folder / one of its no-cache graphs (onnx/decoder_model_int8.onnx) in ONNX Runtime.
// llama-perplexity's method and final lines; a progress bar on stderr on the way.
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "commands.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/files.h"
#include "slmkit/model.h"
#include "slmkit/perplexity.h"
#include "slmkit/tokenizer.h"

namespace slmkit::cli {
namespace {

void draw_progress(const PerplexityProgress& p) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * p.chunk / std::max<int64_t>(p.n_chunks, 1));
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  const double eta =
      p.seconds / static_cast<double>(p.chunk) * static_cast<double>(p.n_chunks - p.chunk);
  std::fprintf(stderr, "\r[%s] %lld/%lld chunks  PPL %.4f  %.1f s, ETA %.1f s ", bar.c_str(),
               static_cast<long long>(p.chunk), static_cast<long long>(p.n_chunks), p.ppl,
               p.seconds, eta);
  if (p.chunk == p.n_chunks) std::fputs("\n", stderr);
  std::fflush(stderr);
}

}  // namespace

void register_perplexity(CLI::App& app) {
  struct Args {
    std::string model;
    std::string file;
    std::string tokenizer;
    int64_t ctx = 512;
    int64_t chunks = -1;
    int threads = 0;
    std::string kv_type = "f16";
    std::string kl_base;
    std::string kl_divergence;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "perplexity", "Perplexity of a text, computed as llama.cpp's llama-perplexity does");
  sub->add_option("-m,--model", args->model,
                  "Model file or folder; an ONNX export folder or one of its no-cache graphs "
                  "(onnx/decoder_model*.onnx) runs in ONNX Runtime")
      ->required();
  sub->add_option("-f,--file", args->file, "Text file (not needed with --kl-divergence)");
  sub->add_option("--kl-base", args->kl_base,
                  "Save every scored position's log-probabilities here (llama-perplexity's "
                  "--kl-divergence-base format)");
  sub->add_option("--kl-divergence", args->kl_divergence,
                  "Compare with this saved base: PPL, ln(PPL ratio), KLD, delta-p, same top token");
  sub->add_option("-c,--ctx-size", args->ctx, "Tokens per chunk")->capture_default_str();
  sub->add_option("--chunks", args->chunks, "At most this many chunks; -1 is all")
      ->capture_default_str();
  sub->add_option("-t,--threads", args->threads, "Threads; 0 is every core")->capture_default_str();
  sub->add_option("--kv-type", args->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  sub->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer file or folder (default: the model's own vocabulary)");
  add_command(sub, [args] {
    DType kv_type;
    if (args->kv_type == "f16" || args->kv_type == "F16") {
      kv_type = DType::F16;
    } else if (args->kv_type == "f32" || args->kv_type == "F32") {
      kv_type = DType::F32;
    } else {
      throw Error(ErrorKind::invalid_input, "--kv-type " + args->kv_type + ": expected f16 or f32");
    }
    if (!args->kl_base.empty() && !args->kl_divergence.empty()) {
      throw Error(ErrorKind::invalid_input, "--kl-base and --kl-divergence: give one of them");
    }
    if (args->file.empty() && args->kl_divergence.empty()) {
      throw Error(ErrorKind::invalid_input, "-f TEXT is required (except with --kl-divergence)");
    }
    // GGUF / Hugging Face / llama2.c in our engine; an ONNX export through ONNX Runtime.
    std::optional<Engine> engine;
    std::optional<OnnxChunkLogits> onnx;
    std::optional<Tokenizer> own_tokenizer;
    if (is_onnx_model(args->model)) {
      onnx = onnx_chunk_logits(
          args->model, args->threads > 0 ? args->threads
                                         : static_cast<int>(std::thread::hardware_concurrency()));
      if (args->tokenizer.empty()) own_tokenizer = Tokenizer::from_path(onnx->export_dir);
    } else {
      Model model = load_model(args->model);
      if (args->tokenizer.empty()) own_tokenizer.emplace(model.vocab);
      engine.emplace(std::move(model));
    }
    const Tokenizer tokenizer =
        own_tokenizer ? std::move(*own_tokenizer) : Tokenizer::from_path(args->tokenizer);
    auto progress = [last_draw = -1.0](const PerplexityProgress& p) mutable {
      // At most ten redraws a second; the first and the last chunk always.
      if (p.chunk == 1 || p.chunk == p.n_chunks || p.seconds - last_draw >= 0.1) {
        last_draw = p.seconds;
        draw_progress(p);
      }
    };
    if (!args->kl_divergence.empty()) {
      PerplexityOptions o;
      o.n_chunks = args->chunks;
      // The base file holds the tokens as the text was tokenized (BOS first when the
      // vocabulary adds one); each chunk's first token is BOS again when it does.
      o.add_bos = tokenizer.bos_id() >= 0 && !tokenizer.encode("a", true).empty() &&
                  tokenizer.encode("a", true).front() == tokenizer.bos_id();
      o.bos_id = tokenizer.bos_id();
      o.n_threads = args->threads;
      o.kv_type = kv_type;
      o.on_chunk = progress;
      const KlDivergenceResult k =
          onnx ? compute_kl_divergence(onnx->logits, onnx->n_vocab, args->kl_divergence, o)
               : compute_kl_divergence(*engine, args->kl_divergence, o);
      std::printf("%s", k.to_text().c_str());
      return;
    }
    const std::string text = read_text_file(args->file);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> tokens = tokenizer.encode(text, true);
    const double tokenize_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    PerplexityOptions o;
    o.n_ctx = args->ctx;
    o.n_chunks = args->chunks;
    // BOS per chunk exactly when the vocabulary adds one (llama_vocab_get_add_bos).
    o.add_bos = tokenizer.bos_id() >= 0 && !tokens.empty() && tokens.front() == tokenizer.bos_id();
    o.bos_id = tokenizer.bos_id();
    o.n_threads = args->threads;
    o.kv_type = kv_type;
    o.on_chunk = progress;
    std::fprintf(stderr,
                 "perplexity: %zu tokens (tokenized in %.0f ms), chunks of %lld tokens, BOS per "
                 "chunk: %s, scoring the second half of each\n",
                 tokens.size(), tokenize_ms, static_cast<long long>(o.n_ctx),
                 o.add_bos ? "yes" : "no");
    PerplexityResult r;
    if (onnx) {
      r = args->kl_base.empty()
              ? compute_perplexity(onnx->logits, tokens, o)
              : write_kl_base(onnx->logits, onnx->n_vocab, tokens, o, args->kl_base);
    } else {
      r = args->kl_base.empty() ? compute_perplexity(*engine, tokens, o)
                                : write_kl_base(*engine, tokens, o, args->kl_base);
    }
    std::fprintf(stderr, "perplexity: %lld chunks, %lld tokens scored in %.2f s\n",
                 static_cast<long long>(r.n_chunks), static_cast<long long>(r.n_scored), r.seconds);
    std::printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_error);
  });
}

}  // namespace slmkit::cli
