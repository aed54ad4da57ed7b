// A generated sample for the report: the options' prompt continued greedily by our engine on one
// model file, so that a reader sees what each quantization writes, not only its numbers.
#pragma once

#include <filesystem>

#include "pipeline/measure.h"
#include "slmkit/pipeline.h"

namespace slmkit::pipeline {

// Records the prompt and its continuation in a.sample (a.sample_note says why when it cannot
// run). Nothing when options->sample_tokens is 0.
void generate_sample(const MeasureContext& ctx, const std::filesystem::path& model,
                     PipelineArtifact& a);

}  // namespace slmkit::pipeline
