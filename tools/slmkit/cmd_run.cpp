// slmkit run -m MODEL -p PROMPT [-n N] [--temp T] [--seed S] [--top-k K] [--top-p P] [--min-p P]
//            [--repeat-penalty R] [--repeat-last-n N] [-t THREADS] [-c CTX] [-b BATCH]
//            [--kv-type f16|f32] [--tokenizer PATH] [--ignore-eos]
// Prints the prompt, then each token as it is generated; the timing line goes to stderr.
#include <algorithm>
#include <cstdio>
#include <random>

#include "commands.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/files.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"

namespace slmkit::cli {
namespace {

DType parse_kv_type(const std::string& s) {
  if (s == "f16" || s == "F16") return DType::F16;
  if (s == "f32" || s == "F32") return DType::F32;
  throw Error(ErrorKind::invalid_input, "--kv-type " + s + ": expected f16 or f32");
}

}  // namespace

void register_run(CLI::App& app) {
  struct Args {
    std::string model;
    std::string prompt;
    std::string prompt_file;
    std::string tokenizer;
    int64_t n_predict = 128;
    float temp = 0.8f;
    int64_t seed = -1;
    int32_t top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    int32_t repeat_last_n = 64;
    int threads = 0;
    int64_t ctx = 0;
    int64_t batch = 512;
    std::string kv_type = "f16";
    bool ignore_eos = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "run", "Generate text from a prompt (GGUF, Hugging Face folder or llama2.c checkpoint)");
  sub->add_option("-m,--model", args->model, "Model file or folder")->required();
  sub->add_option("-p,--prompt", args->prompt, "Prompt text");
  sub->add_option("-f,--file", args->prompt_file, "Read the prompt from a file");
  sub->add_option("-n,--n-predict", args->n_predict, "Tokens to generate")->capture_default_str();
  sub->add_option("--temp", args->temp, "Temperature; 0 is greedy")->capture_default_str();
  sub->add_option("--seed", args->seed, "Random seed; -1 picks one")->capture_default_str();
  sub->add_option("--top-k", args->top_k, "Top-k; 0 disables")->capture_default_str();
  sub->add_option("--top-p", args->top_p, "Top-p; 1 disables")->capture_default_str();
  sub->add_option("--min-p", args->min_p, "Min-p; 0 disables")->capture_default_str();
  sub->add_option("--repeat-penalty", args->repeat_penalty, "Repetition penalty; 1 disables")
      ->capture_default_str();
  sub->add_option("--repeat-last-n", args->repeat_last_n, "Tokens the penalty looks back over")
      ->capture_default_str();
  sub->add_option("-t,--threads", args->threads, "Threads; 0 is every core")->capture_default_str();
  sub->add_option("-c,--ctx-size", args->ctx, "Context size; 0 is the model's (at most 4096)")
      ->capture_default_str();
  sub->add_option("-b,--batch-size", args->batch, "Most tokens per forward pass")
      ->capture_default_str();
  sub->add_option("--kv-type", args->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  sub->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer file or folder (default: the model's own vocabulary)");
  sub->add_flag("--ignore-eos", args->ignore_eos, "Keep generating after end-of-generation");
  add_command(sub, [args] {
    std::string prompt = args->prompt;
    if (!args->prompt_file.empty()) prompt = read_text_file(args->prompt_file);

    Model model = load_model(args->model);
    Tokenizer tokenizer =
        args->tokenizer.empty() ? Tokenizer(model.vocab) : Tokenizer::from_path(args->tokenizer);
    Engine engine(std::move(model));
    const std::vector<int32_t> ids = tokenizer.encode(prompt, true);
    SessionOptions so;
    so.n_ctx = args->ctx;
    // The prompt is the largest pass (generation decodes one token at a time), and the session's
    // batch buffers are sized by n_batch: no larger than the prompt, so memory follows the work.
    // The same passes run either way, so the output is the same.
    so.n_batch =
        std::min<int64_t>(args->batch, std::max<int64_t>(1, static_cast<int64_t>(ids.size())));
    so.n_threads = args->threads;
    so.kv_type = parse_kv_type(args->kv_type);
    Session session(engine, so);

    GenerateOptions go;
    go.n_predict = args->n_predict;
    go.sampling.temperature = args->temp;
    go.sampling.seed = args->seed >= 0 ? static_cast<uint64_t>(args->seed)
                                       : static_cast<uint64_t>(std::random_device{}());
    go.sampling.top_k = args->top_k;
    go.sampling.top_p = args->top_p;
    go.sampling.min_p = args->min_p;
    go.sampling.repeat_penalty = args->repeat_penalty;
    go.sampling.repeat_last_n = args->repeat_last_n;
    if (args->ignore_eos) {
      go.stop_tokens = {-1};  // nothing stops generation early
    } else {
      for (size_t id = 0; id < tokenizer.size(); ++id) {
        if (tokenizer.is_end_of_generation(static_cast<int32_t>(id))) {
          go.stop_tokens.push_back(static_cast<int32_t>(id));
        }
      }
    }

    StreamDecoder stream(tokenizer);
    for (int32_t id : ids) std::fputs(stream.push(id).c_str(), stdout);
    std::fflush(stdout);
    const GenerateResult r = generate(session, ids, go, [&](int32_t id) {
      std::fputs(stream.push(id).c_str(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fputs(stream.flush().c_str(), stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    std::fprintf(stderr,
                 "slmkit run: prompt %lld tokens in %.2f ms (%.2f tok/s), generation %lld tokens "
                 "in %.2f ms (%.2f tok/s), %d threads, seed %llu, stopped: %s\n",
                 static_cast<long long>(r.n_prompt), r.prompt_seconds * 1e3,
                 r.prompt_tokens_per_second(), static_cast<long long>(r.n_decoded),
                 r.decode_seconds * 1e3, r.decode_tokens_per_second(), session.n_threads(),
                 static_cast<unsigned long long>(go.sampling.seed), stop_reason_name(r.stop));
  });
}

}  // namespace slmkit::cli
