// Task accuracy through ONNX Runtime: the evaluation driver's scoring over the ORT logit source.
#include "eval/task_score.h"
#include "peers/ort_logits.h"

namespace slmkit {

TaskResult evaluate_task_onnx(const std::filesystem::path& export_dir,
                              const std::filesystem::path& graph, const Tokenizer& tokenizer,
                              const Task& task, const TaskEvalOptions& options) {
  const eval::PreparedTask prepared = eval::prepare_task(tokenizer, task, options.n_items);
  peers::OrtLogits source(export_dir, graph, options.n_threads > 0 ? options.n_threads : 1);
  return eval::score_task(source, task, prepared, options);
}

}  // namespace slmkit
