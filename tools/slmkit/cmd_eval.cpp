// slmkit eval -m MODEL --task FILE [--format hellaswag|winogrande|mc|jsonl] [-n N] [-t THREADS]
//             [--kv-type f16|f32] [--tokenizer PATH] [-c CTX] [--quiet] [--onnx-graph NAME]
//             [--reference MODEL]
// MODEL is a GGUF (or any model file or folder our engine loads), run in our engine, or an ONNX
// export folder (one with onnx/), run through ONNX Runtime.
// Multiple-choice accuracy as llama-perplexity's --hellaswag / --winogrande / --multiple-choice
// compute it (its per-item lines and final lines on stdout), then every metric's summary.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/task_eval.h"
#include "slmkit/tokenizer.h"

namespace slmkit::cli {

void register_eval(CLI::App& app) {
  struct Args {
    std::string model, task, format, tokenizer, kv_type = "f16", onnx_graph = "decoder_model.onnx",
                                                reference;
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
  sub->add_option("--onnx-graph", args->onnx_graph,
                  "With an ONNX export folder: its no-cache graph under onnx/ to run")
      ->capture_default_str();
  sub->add_option("--reference", args->reference,
                  "Also score this model (e.g. the F32 original) and compare item by item: the "
                  "accuracy difference with its paired standard error");
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
    auto run = [&](const std::filesystem::path& model_path) {
      if (std::filesystem::is_directory(model_path / "onnx")) {
        const Tokenizer tokenizer = Tokenizer::from_path(
            args->tokenizer.empty() ? model_path : std::filesystem::path(args->tokenizer));
        return evaluate_task_onnx(model_path, model_path / "onnx" / args->onnx_graph, tokenizer,
                                  task, o);
      }
      Model model = load_model(model_path);
      const Tokenizer tokenizer =
          args->tokenizer.empty() ? Tokenizer(model.vocab) : Tokenizer::from_path(args->tokenizer);
      const Engine engine(std::move(model));
      return evaluate_task(engine, tokenizer, task, o);
    };
    const TaskResult r = run(args->model);
    if (!args->quiet) std::printf("%s", r.to_llama_cpp_text().c_str());
    std::printf("%s", r.summary().c_str());
    if (!args->reference.empty()) {
      const TaskComparison c = compare_task_results(run(args->reference), r);
      std::printf(
          "vs reference %+.4f +/- %.4f %%  (paired; answers changed on %lld of %lld "
          "items: right only in the reference %lld, only here %lld)\n",
          100 * c.difference, 100 * c.difference_error, static_cast<long long>(c.changed),
          static_cast<long long>(c.n_items), static_cast<long long>(c.only_a),
          static_cast<long long>(c.only_b));
    }
  });
}

}  // namespace slmkit::cli
