// Deterministic random models with the real shapes of named models, for tests and benchmarks.
// Every synthetic model says so in its metadata (GGUF slmkit.synthetic, config.json
// slmkit_synthetic, safetensors __metadata__), and reports say so too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "slmkit/dtype.h"
#include "slmkit/model.h"

namespace slmkit {

struct SynthShape {
  std::string name;       // "tiny", "distilgpt2", "tinyllama-1.1b", ...
  std::string arch;       // "gpt2" | "llama" | "gemma3" | "qwen2"
  std::string tokenizer;  // the family's tokenizer, relative to a tokenizer folder
};
std::vector<SynthShape> synth_shapes();  // every named shape, all families

struct SynthOptions {
  std::string arch;
  std::string shape = "tiny";
  uint64_t seed = 0;
  DType dtype = DType::F32;  // of the matrices and embeddings; norms and biases stay F32
  // A tokenizer file or folder to use; when empty, the shape's tokenizer is looked up in
  // `tokenizer_dirs` (e.g. ../shared/fixtures/tokenizers), and a byte-level vocabulary padded to
  // the shape's vocab size is used when none is found.
  std::filesystem::path tokenizer;
  std::vector<std::filesystem::path> tokenizer_dirs;
};

// The same options always give the same bytes.
Model synthesize_model(const SynthOptions& options);

}  // namespace slmkit
