// Named model shapes: the hyper-parameters of real checkpoints, as their config.json states them.
#pragma once

#include <string_view>
#include <vector>

#include "slmkit/model.h"

namespace slmkit::synth {

struct ShapeSpec {
  std::string_view name;
  std::string_view arch;
  std::string_view tokenizer;  // relative to a tokenizer folder
  int64_t vocab_size, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, context_length;
  double norm_eps, rope_base;
  bool tied;
  int64_t sliding_window;  // gemma3 only
};

const std::vector<ShapeSpec>& shapes();
const ShapeSpec* find_shape(std::string_view arch, std::string_view name);

// A complete ModelConfig for a shape: the family's defaults plus the shape's numbers.
ModelConfig shape_config(const ShapeSpec& shape);

}  // namespace slmkit::synth
