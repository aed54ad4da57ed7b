// slmkit synth --arch ARCH --shape NAME --seed N [--dtype f32|f16|bf16] [--format gguf|hf] -o OUT
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "slmkit/error.h"
#include "slmkit/inspect.h"
#include "slmkit/synth.h"

namespace slmkit::cli {

void register_synth(CLI::App& app) {
  struct Args {
    std::string arch;
    std::string shape = "tiny";
    uint64_t seed = 0;
    std::string dtype = "f32";
    std::string format;
    std::string output;
    std::string tokenizer;
    std::vector<std::string> tokenizer_dirs;
  };
  auto args = std::make_shared<Args>();
  std::string shape_help = "Named shape:";
  for (const SynthShape& s : synth_shapes()) shape_help += " " + s.arch + "/" + s.name;
  CLI::App* sub =
      app.add_subcommand("synth", "Write a model with random weights and a real model's shapes");
  sub->add_option("--arch", args->arch, "gpt2, llama, gemma3 or qwen2")->required();
  sub->add_option("--shape", args->shape, shape_help)->capture_default_str();
  sub->add_option("--seed", args->seed, "Random seed (same seed, same bytes)")
      ->capture_default_str();
  sub->add_option("--dtype", args->dtype, "Weight type: f32, f16 or bf16")->capture_default_str();
  sub->add_option("--format", args->format,
                  "gguf or hf (default: from the output name: *.gguf is GGUF)");
  sub->add_option("-o,--output", args->output, "Output GGUF file or Hugging Face folder")
      ->required();
  sub->add_option("--tokenizer", args->tokenizer, "Tokenizer file or folder to embed");
  sub->add_option(
      "--tokenizer-dir", args->tokenizer_dirs,
      "Folders to look for the family's tokenizer in (default: ../shared/fixtures/tokenizers; "
      "an empty value: none, so a byte-level vocabulary is written)");
  add_command(sub, [args] {
    SynthOptions o;
    o.arch = args->arch;
    o.shape = args->shape;
    o.seed = args->seed;
    auto dtype = dtype_from_name(args->dtype);
    if (!dtype)
      throw slmkit::Error(slmkit::ErrorKind::invalid_input,
                          "--dtype " + args->dtype + ": expected f32, f16 or bf16");
    o.dtype = *dtype;
    o.tokenizer = args->tokenizer;
    for (const auto& d : args->tokenizer_dirs) {
      if (!d.empty()) o.tokenizer_dirs.emplace_back(d);
    }
    if (args->tokenizer_dirs.empty())
      o.tokenizer_dirs.emplace_back("../shared/fixtures/tokenizers");
    std::string format = args->format;
    if (format.empty()) format = args->output.ends_with(".gguf") ? "gguf" : "hf";
    if (format != "gguf" && format != "hf") {
      throw slmkit::Error(slmkit::ErrorKind::invalid_input,
                          "--format " + format + ": expected gguf or hf");
    }
    const auto start = std::chrono::steady_clock::now();
    const Model model = synthesize_model(o);
    save_model(model, args->output, format == "gguf" ? ModelFormat::gguf : ModelFormat::hf);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Everything written: the weights and, in a folder, the config and tokenizer files.
    uint64_t written = 0;
    if (std::filesystem::is_directory(args->output)) {
      for (const auto& e : std::filesystem::directory_iterator(args->output)) {
        if (e.is_regular_file()) written += e.file_size();
      }
    } else {
      written = std::filesystem::file_size(args->output);
    }
    std::fprintf(stderr,
                 "synth: wrote %s (%s, %s parameters, %s of weights, tokenizer: %s): %s in %.1f s "
                 "(%.0f MB/s)\n",
                 args->output.c_str(), model.config.name.c_str(),
                 human_count(model.n_parameters()).c_str(), human_bytes(model.n_bytes()).c_str(),
                 model.vocab.source.c_str(), human_bytes(written).c_str(), seconds,
                 seconds > 0 ? static_cast<double>(written) / seconds * 1e-6 : 0.0);
  });
}

}  // namespace slmkit::cli
