// slmkit eval -m MODEL --task FILE [--format hellaswag|winogrande|mc|jsonl] [-n N] [-t THREADS]
//             [--kv-type f16|f32] [--tokenizer PATH] [-c CTX] [--quiet]
// Multiple-choice accuracy as llama-perplexity's --hellaswag / --winogrande / --multiple-choice
// compute it (its per-item lines and final lines on stdout), then every metric's summary.
#include <cstdio>

#include "commands.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/task_eval.h"
#include "slmkit/tokenizer.h"

namespace slmkit::cli {

void register_eval(CLI::App& app) {
  struct Args {
    std::string model, task, format, tokenizer, kv_type = "f16";
    int64_t n_items = 0, ctx = 0;
    int threads = 0;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "eval", "Multiple-choice task accuracy, scored as llama.cpp's llama-perplexity does");
  sub->add_option("-m,--model", args->model, "Model file or folder")->required();
  sub->add_option("--task", args->task, "Task file")->required();
  sub->add_option("--format", args->format,
                  "hellaswag, winogrande, mc (llama.cpp's binary) or jsonl; default from the "
                  "extension (.jsonl, .csv, .bin; otherwise hellaswag)");
  sub->add_option("-n,--items", args->n_items,
                  "Score this many items, picked as llama.cpp picks them; 0 is all")
      ->capture_default_str();
  sub->add_option("-c,--ctx-size", args->ctx, "Context; 0 is the longest item")
      ->capture_default_str();
  sub->add_option("-t,--threads", args->threads, "Threads; 0 is every core")->capture_default_str();
  sub->add_option("--kv-type", args->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  sub->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer file or folder (default: the model's own vocabulary)");
  sub->add_flag("-q,--quiet", args->quiet, "Only the summary, not llama.cpp's per-item lines");
  add_command(sub, [args] {
    TaskEvalOptions o;
    if (args->kv_type == "f16" || args->kv_type == "F16") {
      o.kv_type = DType::F16;
    } else if (args->kv_type == "f32" || args->kv_type == "F32") {
      o.kv_type = DType::F32;
    } else {
      throw Error(ErrorKind::invalid_input, "--kv-type " + args->kv_type + ": expected f16 or f32");
    }
    if (args->n_items < 0) throw Error(ErrorKind::invalid_input, "-n: expected 0 or more items");
    o.n_items = args->n_items;
    o.n_ctx = args->ctx;
    o.n_threads = args->threads;
    o.on_item = [](const TaskProgress& p) {
      if (p.done % 50 == 0 || p.done == p.total) {
        std::fprintf(stderr, "\reval: %lld/%lld items, %lld correct, %.1f s ",
                     static_cast<long long>(p.done), static_cast<long long>(p.total),
                     static_cast<long long>(p.correct), p.seconds);
        if (p.done == p.total) std::fputs("\n", stderr);
        std::fflush(stderr);
      }
    };
    const Task task = args->format.empty() ? read_task(args->task)
                                           : read_task(args->task, parse_task_format(args->format));
    Model model = load_model(args->model);
    const Tokenizer tokenizer =
        args->tokenizer.empty() ? Tokenizer(model.vocab) : Tokenizer::from_path(args->tokenizer);
    const Engine engine(std::move(model));
    const TaskResult r = evaluate_task(engine, tokenizer, task, o);
    if (!args->quiet) std::printf("%s", r.to_llama_cpp_text().c_str());
    std::printf("%s", r.summary().c_str());
  });
}

}  // namespace slmkit::cli
