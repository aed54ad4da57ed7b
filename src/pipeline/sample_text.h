// A generated sample for the report: the options' prompt continued greedily by our engine on one
// model, so that a reader sees what each quantization writes, not only its numbers.
#pragma once

#include <string>

#include "slmkit/engine.h"
#include "slmkit/pipeline.h"

namespace slmkit::pipeline {

struct SampleSettings {
  std::string prompt;
  int64_t n_tokens = 0;  // 0: no sample
  int n_threads = 0;
};

// Records the prompt and its continuation in a.sample (a.sample_note says why when it cannot
// run), on an engine already loaded (the input, or a GGUF artifact as validation loaded it).
void generate_sample(const Engine& engine, const SampleSettings& s, PipelineArtifact& a);

}  // namespace slmkit::pipeline
