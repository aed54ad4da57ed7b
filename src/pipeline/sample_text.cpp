#include "pipeline/sample_text.h"

#include <algorithm>

#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"

namespace slmkit::pipeline {

void generate_sample(const MeasureContext& ctx, const std::filesystem::path& model,
                     PipelineArtifact& a) {
  const PipelineOptions& o = *ctx.options;
  if (o.sample_tokens <= 0) return;
  try {
    Model m = load_model(model);
    const Tokenizer tokenizer(m.vocab);
    const std::vector<int32_t> prompt = tokenizer.encode(o.sample_prompt, true);
    const Engine engine(std::move(m));
    SessionOptions so;
    so.n_ctx = std::min<int64_t>(engine.config().context_length,
                                 static_cast<int64_t>(prompt.size()) + o.sample_tokens);
    so.n_threads = o.n_threads;
    Session session(engine, so);
    GenerateOptions go;
    go.n_predict = so.n_ctx - static_cast<int64_t>(prompt.size());
    if (go.n_predict <= 0) {
      a.sample_note = "the prompt fills the model's context";
      return;
    }
    go.sampling.temperature = 0;  // greedy: the same text on every run
    const GenerateResult r = generate(session, prompt, go);
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), r.tokens.begin(), r.tokens.end());
    a.sample = tokenizer.decode(all, true);
  } catch (const Error& e) {
    a.sample_note = one_line(e.what());
  }
}

}  // namespace slmkit::pipeline
