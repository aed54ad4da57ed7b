// What kind of deployable artifact a path is, and which files belong to it. Shared by
// validation and manifests so both agree on what "the artifact" is.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "slmkit/model.h"

namespace slmkit::gguf {
struct File;
}

namespace slmkit::artifact {

enum class Kind { gguf, onnx_file, onnx_folder };

struct OnnxGraph {
  std::filesystem::path path;
  std::string variant;    // "plain", "with_past", "prefill", "decode", or "other"
  std::string precision;  // "fp32", "fp16", "int8", "q4", "q4f16" (from the file name)
};

struct Info {
  Kind kind = Kind::gguf;
  std::filesystem::path path;         // as given
  std::filesystem::path root;         // ONNX: the folder holding config.json (may be empty)
  std::vector<OnnxGraph> graphs;      // ONNX: every graph, sorted by path
  std::filesystem::path config_json;  // ONNX: root/config.json when present
};

// Error(invalid_input) when the path is neither a GGUF file, an .onnx file nor a folder with
// onnx/*.onnx (or *.onnx); Error(io) when it does not exist.
Info classify(const std::filesystem::path& path);

// By file name: "model_fp16.onnx" -> variant "with_past", precision "fp16"; "decoder_model.onnx"
// -> "plain"; "prefill", "decode"; optimum's "decoder_model_merged" / "decoder_with_past_model"
// -> "with_past". In the older layout (a folder holding "model_with_past*.onnx", or the seeds'
// "model.with_past.onnx"), "model*.onnx" is the no-cache graph instead. The one-argument form
// looks at the file's folder to tell.
OnnxGraph describe_graph(const std::filesystem::path& path, bool legacy_layout);
OnnxGraph describe_graph(const std::filesystem::path& path);
// True when `dir` holds a with-past graph under the older names (see describe_graph).
bool legacy_onnx_layout(const std::filesystem::path& dir);

// The graph that stands for an ONNX artifact of `precision`: with-past first (what generation
// uses), then plain. nullptr when there is none.
const OnnxGraph* main_graph(const Info& info, const std::string& precision);

// The distinct precisions of the graphs, fp32 first.
std::vector<std::string> precisions(const Info& info);

// ONNX: the model config from root/config.json (Error naming the file when absent or bad).
ModelConfig onnx_config(const Info& info);

// Every file that belongs to the artifact, with a unique role each: GGUF: "model"; ONNX: the
// main graph "model", the others by file stem ("graph:decode_fp16"), their external data
// ("external_data:" + stem) and the folder's "config", "generation_config", "tokenizer",
// "tokenizer_config", "tokenizer_model", "special_tokens_map", "vocab", "merges".
struct RoleFile {
  std::string role;
  std::filesystem::path path;
};
std::vector<RoleFile> files_of(const Info& info);

// A GGUF's type as llama-quantize names it ("Q4_K_M", "F16") from general.file_type, else the
// type holding most matrix bytes ("Q8_0").
std::string gguf_quantization(const gguf::File& file);

}  // namespace slmkit::artifact
