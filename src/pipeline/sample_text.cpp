#include "pipeline/sample_text.h"

#include <algorithm>

#include "pipeline/measure.h"
#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"

namespace slmkit::pipeline {

void generate_sample(const Engine& engine, const SampleSettings& s, PipelineArtifact& a) {
  if (s.n_tokens <= 0) return;
  try {
    const Tokenizer tokenizer(engine.model().vocab);
    const std::vector<int32_t> prompt = tokenizer.encode(s.prompt, true);
    SessionOptions so;
    so.n_ctx = std::min<int64_t>(engine.config().context_length,
                                 static_cast<int64_t>(prompt.size()) + s.n_tokens);
    so.n_threads = s.n_threads;
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
