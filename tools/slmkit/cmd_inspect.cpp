// slmkit inspect MODEL [--json] [--all]
#include <cstdio>

#include "commands.h"
#include "slmkit/inspect.h"
#include "slmkit/model.h"

namespace slmkit::cli {

void register_inspect(CLI::App& app) {
  struct Args {
    std::string model;
    std::string tokenizer;
    bool json = false;
    bool all = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Describe a model: architecture, parameters, tensors, metadata");
  sub->add_option("model", args->model, "GGUF file, Hugging Face folder or llama2.c checkpoint")
      ->required();
  sub->add_option("--tokenizer", args->tokenizer,
                  "llama2.c tokenizer.bin to pair with a checkpoint");
  sub->add_flag("--json", args->json, "Print the report as JSON");
  sub->add_flag("--all", args->all, "List every tensor");
  add_command(sub, [args] {
    LoadOptions options;
    options.llama2c_tokenizer = args->tokenizer;
    const Model model = load_model(args->model, options);
    const auto report = inspect_model(model);
    const std::string text =
        args->json ? report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                   : format_inspection(report, args->all);
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace slmkit::cli
