// slmkit imatrix -m MODEL -f TEXT -o imatrix.gguf [-c CTX] [--chunks N] [--output-format gguf|dat]
// llama-imatrix's collection: per weight matrix, the sums of its input columns' squares.
#include <cstdio>

#include "commands.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/files.h"
#include "slmkit/imatrix.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"

namespace slmkit::cli {

void register_imatrix(CLI::App& app) {
  struct Args {
    std::string model, file, out = "imatrix.gguf", tokenizer, format = "gguf";
    int64_t ctx = 512;
    int64_t chunks = -1;
    int threads = 0;
    bool process_output = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "imatrix",
      "Importance matrix of a text (per-column activation statistics), as llama-imatrix");
  sub->add_option("-m,--model", args->model, "Model file or folder")->required();
  sub->add_option("-f,--file", args->file, "Text file")->required();
  sub->add_option("-o,--output", args->out, "Output file")->capture_default_str();
  sub->add_option("--output-format", args->format, "gguf (llama.cpp's current) or dat (legacy)")
      ->capture_default_str();
  sub->add_option("-c,--ctx-size", args->ctx, "Tokens per chunk")->capture_default_str();
  sub->add_option("--chunks", args->chunks, "At most this many chunks; -1 is all")
      ->capture_default_str();
  sub->add_option("-t,--threads", args->threads, "Threads; 0 is every core")->capture_default_str();
  sub->add_flag("--process-output", args->process_output, "Also collect output.weight");
  sub->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer file or folder (default: the model's own vocabulary)");
  add_command(sub, [args] {
    if (args->format != "gguf" && args->format != "dat") {
      throw Error(ErrorKind::invalid_input,
                  "--output-format " + args->format + ": expected gguf or dat");
    }
    Model model = load_model(args->model);
    Tokenizer tokenizer =
        args->tokenizer.empty() ? Tokenizer(model.vocab) : Tokenizer::from_path(args->tokenizer);
    const Engine engine(std::move(model));
    const std::vector<int32_t> tokens = tokenizer.encode(read_text_file(args->file), true);

    ImatrixOptions o;
    o.n_ctx = args->ctx;
    o.n_chunks = args->chunks;
    o.add_bos = tokenizer.bos_id() >= 0 && !tokens.empty() && tokens.front() == tokenizer.bos_id();
    o.bos_id = tokenizer.bos_id();
    o.n_threads = args->threads;
    o.process_output = args->process_output;
    o.dataset = args->file;
    o.on_chunk = [last = -1.0](int64_t chunk, int64_t n_chunks, double seconds) mutable {
      // At most ten redraws a second; the first and the last chunk always.
      if (chunk != 1 && chunk != n_chunks && seconds - last < 0.1) return;
      last = seconds;
      std::fprintf(stderr, "\rimatrix: chunk %lld/%lld, %.1f s ", static_cast<long long>(chunk),
                   static_cast<long long>(n_chunks), seconds);
      if (chunk == n_chunks) std::fputs("\n", stderr);
      std::fflush(stderr);
    };
    std::fprintf(stderr, "imatrix: %zu tokens, chunks of %lld\n", tokens.size(),
                 static_cast<long long>(o.n_ctx));
    const ImportanceMatrix im = collect_imatrix(engine, tokens, o);
    if (args->format == "dat") {
      write_imatrix_legacy(im, args->out);
    } else {
      write_imatrix(im, args->out);
    }
    std::printf("imatrix: %zu entries over %lld chunks of %lld tokens written to %s\n",
                im.entries.size(), static_cast<long long>(im.chunk_count),
                static_cast<long long>(im.chunk_size), args->out.c_str());
  });
}

}  // namespace slmkit::cli
