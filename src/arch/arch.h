// An architecture is data: a table of Hugging Face tensor names, the family's fixed properties,
// and the mapping between its config files and ModelConfig. One file per family, one registry.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slmkit/model.h"

namespace slmkit::arch {

// One row of a Hugging Face -> slmkit name table; "{L}" stands for the layer index.
struct NameRule {
  std::string_view hf;
  std::string_view ours;
  bool conv1d = false;  // stored [in, out] (GPT-2's Conv1D): transposed to [out, in] on read
};

// A family-specific GGUF key "{arch}.<suffix>" holding one float field of the config: data that
// formats/gguf_model.cpp reads (fallback when absent) and writes (when not the fallback).
struct GgufFloatKey {
  std::string_view suffix;
  double& (*field)(ModelConfig& config);
  double fallback;
};

struct Arch {
  std::string_view name;                         // slmkit's and GGUF's general.architecture
  std::vector<std::string_view> hf_model_types;  // config.json "model_type" values
  std::vector<NameRule> hf_names;
  std::vector<std::string_view> hf_ignored;  // buffers that are not parameters ("{L}" allowed)
  // The q/k row order llama.cpp expects in a GGUF of this architecture, and the one Hugging Face
  // checkpoints use (llama.cpp's converter permutes Llama's q/k rows; the others it leaves).
  RopeStyle gguf_rope_style;
  RopeStyle hf_rope_style;
  float hf_norm_weight_offset;  // Gemma's checkpoints store w for a (1 + w) norm; GGUF stores 1 + w
  // Family constants: norm kind, activation, biases, positions, sandwich norms...
  void (*defaults)(ModelConfig& config);
  void (*from_hf)(const nlohmann::json& hf, ModelConfig& config);
  void (*to_hf)(const ModelConfig& config, nlohmann::ordered_json& hf);
  // GGUF keys beyond the ones every architecture shares, as data (formats/gguf_model.cpp reads
  // and writes them):
  std::vector<GgufFloatKey> gguf_float_keys = {};
  // > 0: "{arch}.attention.sliding_window_pattern" holds the sliding / global layout, per layer
  // (bools) or as a period, this one when absent (sliding_layers); written per layer when the
  // layout is not this period's.
  int64_t gguf_sliding_period = 0;
  bool gguf_key_length_always = false;  // write attention.key_length even when n_embd / n_head
  // Values GGUF leaves implicit, from the rest of the config once the keys are read (nullptr:
  // none).
  void (*complete_gguf_config)(ModelConfig& config) = nullptr;
};

const Arch* find(std::string_view name);
const Arch* find_by_hf_model_type(std::string_view model_type);
std::span<const Arch* const> all();
std::string supported_names();  // "gpt2, llama, gemma3, qwen2" for messages

// The tensors a config implies, with exact shapes; `required` is false for tensors a model may
// or may not store (a copy of the tied classifier, Llama 3's rope_freqs).
struct TensorSpec {
  std::string name;
  Shape shape;
  bool required = true;
};
std::vector<TensorSpec> expected_tensors(const ModelConfig& config);

// Checks the config for consistency and every tensor against expected_tensors: missing,
// misshapen or unknown tensors are an Error(invalid_input) naming the tensor and `where`.
void check_model(const Model& model, const std::string& where);

// Interleaved sliding-window layers: with a window, every `period`-th layer is global (period 0:
// all sliding); without one, all global.
void sliding_layers(ModelConfig& config, int64_t period);

// Layer counts are read before anything is sized by them: 1..4096, else Error(invalid_input).
int64_t checked_layer_count(int64_t n_layer, const std::string& where);

// Helpers for the per-family mappings: typed reads of config.json with the key named on error.
namespace hf {
int64_t get_int(const nlohmann::json& j, const char* key, const std::string& where);
int64_t get_int(const nlohmann::json& j, const char* key, int64_t fallback);
double get_double(const nlohmann::json& j, const char* key, double fallback);
bool get_bool(const nlohmann::json& j, const char* key, bool fallback);
int32_t get_token_id(const nlohmann::json& j, const char* key);  // int or first of a list; -1
}  // namespace hf

}  // namespace slmkit::arch
