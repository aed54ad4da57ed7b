// What a model is: architecture, parameters, bytes per dtype, tensors, metadata, tokenizer.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "slmkit/model.h"

namespace slmkit {

// A structured description (the `slmkit inspect --json` document).
nlohmann::ordered_json inspect_model(const Model& model);

// The same as text for people; `all_tensors` lists every tensor instead of the first layers.
std::string format_inspection(const nlohmann::ordered_json& report, bool all_tensors);

// "260.0K", "81.9M", "1.10B"
std::string human_count(int64_t n);
std::string human_bytes(uint64_t n);  // "1.13 MiB"

}  // namespace slmkit
