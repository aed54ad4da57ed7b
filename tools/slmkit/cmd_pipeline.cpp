// slmkit pipeline MODEL -o OUT [--name NAME] [--gguf LIST] [--onnx LIST] [--eval TEXT] [--calib
// TEXT]
//                 [--ppl-ctx N] [--ppl-chunks N] [-p N] [-n N] [-r N] [-t N] [--min-tps X]
//                 [--sample-prompt TEXT] [--sample-tokens N] [--synthetic]
//                 [--task FILE [--task-name NAME] [--task-format FORMAT] [--task-items N]
//                  [--min-accuracy-ratio R]]
// Exit code: 0 when every artifact validated, 1 when a check failed (report.md names it), 2 for
// bad input.
#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "slmkit/error.h"
#include "slmkit/pipeline.h"

namespace slmkit::cli {

namespace {

// "none" (or an empty value) asks for no artifacts of that kind.
std::vector<std::string> list_or_none(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& i : items) {
    if (!i.empty() && i != "none") out.push_back(i);
  }
  return out;
}

}  // namespace

void register_pipeline(CLI::App& app) {
  struct Args {
    std::string model;
    std::string out;
    std::vector<std::string> gguf;
    std::vector<std::string> onnx;
    std::vector<std::string> variants;
    std::string eval;
    std::string task;
    double min_accuracy_ratio = 0;
    std::string calib;
    PipelineOptions o;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "pipeline",
      "Build GGUF and ONNX artifacts from a model, validate and benchmark each, measure "
      "perplexity, write manifests and a report (report.md, report.html)");
  sub->add_option("model", args->model, "GGUF file, Hugging Face folder or llama2.c checkpoint")
      ->required();
  sub->add_option("-o,--output", args->out, "Output folder")->required();
  sub->add_option("--name", args->o.name,
                  "Model name for artifact files, manifests and the report (default: the input's "
                  "file or folder name)");
  sub->add_option("--gguf", args->gguf,
                  "GGUF types / presets, comma-separated, or none (default: F16,Q8_0,Q4_K_M); "
                  "auto:BYTES, auto:BPWbpw or auto:TPStps for a mix chosen by measurement under "
                  "that budget (quantize -t auto), e.g. auto:2091936, auto:4.5bpw, auto:120tps")
      ->delimiter(',');
  sub->add_option("--onnx", args->onnx,
                  "ONNX precisions (fp32, fp16, int8, w8a8, q4, q4f16), comma-separated, or none "
                  "(default: fp32,int8,q4); w8a8 takes its activation scales from --calib (else "
                  "--eval)")
      ->delimiter(',');
  sub->add_option("--onnx-variants", args->variants,
                  "ONNX graphs per precision (default: plain,with_past; plain is always written)")
      ->delimiter(',');
  sub->add_option("--verify-with", args->o.verify_with,
                  "Also validate each GGUF artifact through this command prefix running another "
                  "build of slmkit (e.g. \"scripts/cross.sh aarch64 exec --\"); repeatable");
  sub->add_option("--eval", args->eval, "Text file for perplexity (default: none measured)");
  sub->add_option("--calib", args->calib,
                  "Calibration text of auto: GGUFs and --smoothquant (default: the --eval text)");
  sub->add_option("--ppl-ctx", args->o.ppl_ctx, "Perplexity: tokens per chunk")
      ->capture_default_str();
  sub->add_option("--ppl-chunks", args->o.ppl_chunks, "Perplexity: at most this many chunks")
      ->capture_default_str();
  sub->add_option("-p,--bench-prompt", args->o.bench_prompt, "Benchmark: prompt tokens (pp)")
      ->capture_default_str();
  sub->add_option("-n,--bench-gen", args->o.bench_gen, "Benchmark: generated tokens (tg)")
      ->capture_default_str();
  sub->add_option("-r,--bench-reps", args->o.bench_repetitions, "Benchmark: repetitions")
      ->capture_default_str();
  sub->add_option("-t,--threads", args->o.n_threads, "Threads; 0 is every core")
      ->capture_default_str();
  sub->add_option("--min-tps", args->o.min_tokens_per_second,
                  "Validation: lowest acceptable decode tokens/s")
      ->capture_default_str();
  sub->add_option("--sample-prompt", args->o.sample_prompt,
                  "Prompt the report's generated samples continue")
      ->capture_default_str();
  sub->add_option("--sample-tokens", args->o.sample_tokens,
                  "Tokens generated (greedy) per sample; 0: no samples")
      ->capture_default_str();
  sub->add_option("--task", args->task,
                  "Multiple-choice task file (as `slmkit eval` reads): accuracy of the baseline "
                  "and every artifact on the same items, in the report and the manifests. ONNX "
                  "artifacts are scored through ONNX Runtime at about a second per choice "
                  "sequence: use --task-items, or --onnx none");
  sub->add_option("--task-name", args->o.task_name,
                  "The task's name in the report and manifests (default: the file's stem); "
                  "os_benchmark also fills performance.os_benchmark_accuracy");
  sub->add_option("--task-format", args->o.task_format,
                  "hellaswag, winogrande, mc or jsonl (default: from the extension, as eval)");
  sub->add_option("--task-items", args->o.task_items,
                  "Task items scored, picked as llama.cpp picks them; 0 is all")
      ->capture_default_str();
  sub->add_option("--min-accuracy-ratio", args->min_accuracy_ratio,
                  "With --task: an artifact fails validation when its accuracy is below R x the "
                  "baseline's on the same items (default: reported, not judged)");
  sub->add_option("--smoothquant", args->o.smoothquant,
                  "SmoothQuant alpha in [0, 1], or auto: build every artifact from the input "
                  "smoothed on the --calib text (else --eval); names get -sqALPHA "
                  "(docs/quantization.md)");
  sub->add_flag("--synthetic", args->o.synthetic,
                "Say in the report that the weights are random (automatic for `slmkit synth` "
                "models)");
  add_command(sub, [args] {
    PipelineOptions o = args->o;
    o.model = args->model;
    o.out = args->out;
    if (!args->gguf.empty()) o.gguf = list_or_none(args->gguf);
    if (!args->onnx.empty()) o.onnx = list_or_none(args->onnx);
    if (!args->variants.empty()) o.onnx_variants = list_or_none(args->variants);
    if (!args->eval.empty()) o.eval_text = args->eval;
    if (!args->task.empty()) o.task = args->task;
    if (args->min_accuracy_ratio != 0) o.min_accuracy_ratio = args->min_accuracy_ratio;
    if (!args->calib.empty()) o.calibration_text = args->calib;
    o.on_progress = [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
    const PipelineResult r = run_pipeline(o);
    std::printf("%s\n", pipeline_report_markdown(r).c_str());
    if (!r.passed) {
      std::fflush(stdout);
      std::fprintf(stderr, "slmkit: pipeline FAILED: see %s/report.md\n", args->out.c_str());
      std::exit(1);  // a failed check, not bad input (2)
    }
  });
}

}  // namespace slmkit::cli
