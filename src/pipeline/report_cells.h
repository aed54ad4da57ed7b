// The report's cells as text, shared by the Markdown and the HTML writer so both say the same.
#pragma once

#include <string>
#include <vector>

#include "slmkit/pipeline.h"
#include "slmkit/validate.h"

namespace slmkit::pipeline {

// "logits.max_abs_diff_rel = 0.0312 (bound <= 0.02): top-5 overlap 3/5"
std::string check_summary(const ValidationCheck& check);

std::string cell_size(const PipelineArtifact& a);
std::string cell_perplexity(const PipelineArtifact& a);        // "4.8753 +/- 0.05" or "n/a"
std::string cell_perplexity_value(const PipelineArtifact& a);  // "4.8753" (no error) or "n/a"
std::string cell_kld(const PipelineArtifact& a);               // "0.00401 +/- 0.00012", "reference"
std::string cell_kld_value(const PipelineArtifact& a);         // "0.00401" or "n/a"
// Whether any artifact has a KL divergence (the tables then carry its column).
bool has_kld(const PipelineResult& r);
// Per artifact: on the size / KL divergence / decode speed Pareto front, i.e. valid, measured on
// all three, and no other such artifact is at once no larger, no further from the baseline and no
// slower (and better on one). Artifacts without a decode speed compete on size and KLD alone.
std::vector<bool> pareto_front(const PipelineResult& r);
// "Q4_K_M, auto-2091936B and Q8_0 are on the size / KL divergence / decode speed Pareto front
// (...)", or "" when fewer than two artifacts have a KL divergence.
std::string pareto_summary(const PipelineResult& r);
// Whether a task was scored (the tables then carry an accuracy column).
bool has_task(const PipelineResult& r);
std::string cell_accuracy(const PipelineArtifact& a);        // "35.00 +/- 10.94 %" or "n/a"
std::string cell_accuracy_value(const PipelineArtifact& a);  // "35.00 %" or "n/a"
// Why perplexity, accuracy or speed are missing, one line per artifact and measure.
std::vector<std::string> notes(const PipelineResult& r);
std::string cell_tps(double tps);                     // "1234.5" or "-"
std::string cell_latency(const PipelineArtifact& a);  // "0.81 +/- 0.02"
std::string cell_rss(const PipelineArtifact& a);
std::string cell_validation(const PipelineArtifact& a);  // "passed (12 checks)" / "FAILED: ..."
// The baseline says it is one, and of what: "stories3M (FP32 baseline)", "(F16 baseline)".
std::string display_name(const PipelineArtifact& a);

// One paragraph on what was measured and how (text, chunks, bench sizes, threads).
std::string method_summary(const PipelineResult& r);
std::string synthetic_banner();

// Whether any artifact carries a generated sample, and the sentence that introduces them.
bool has_samples(const PipelineResult& r);
std::string samples_intro(const PipelineResult& r);

}  // namespace slmkit::pipeline
