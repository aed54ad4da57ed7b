// Deployment manifests: what an artifact is (format, quantization, architecture, shapes), how it
// performed, and the SHA-256 of every file that belongs to it, so `slmkit verify` can re-check a
// deployment byte for byte.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slmkit {

// Hex SHA-256 of a file (OpenSSL EVP, streamed).
std::string sha256_file(const std::filesystem::path& path);

struct ManifestFile {
  std::string role;  // "model", "tokenizer", "config", "generation_config", "external_data", ...
  std::filesystem::path path;  // relative to the manifest's base folder
  uint64_t size_bytes = 0;
  std::string sha256;  // hex, no prefix
};

struct Manifest {
  // The artifact (GGUF file or ONNX folder/file) relative to the base folder; its stem names
  // the manifest file (NAME.json), so two quantizations of one model get two manifests.
  std::filesystem::path artifact;
  std::string model_name;
  std::string version;       // slmkit's version
  std::string format;        // "gguf" or "onnx"
  std::string quantization;  // "Q4_K_M", "F16", "fp32", "int8", "q4", ...
  std::string architecture;  // "llama", "gpt2", ...
  uint64_t parameters = 0;
  int64_t vocab_size = 0;
  int64_t context_length = 0;
  int64_t embedding_dim = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  uint64_t size_bytes = 0;                        // every file together
  std::string checksum;                           // "sha256:..." of the main model file
  std::string created;                            // ISO 8601 UTC
  std::vector<std::string> target_architectures;  // "x86_64", "aarch64", "wasm" ...
  nlohmann::ordered_json performance =
      nlohmann::ordered_json::object();  // perplexity, tokens_per_sec, ...
  std::vector<ManifestFile> files;
  bool synthetic = false;  // weights are random (slmkit synth), not trained
  // What the caller knows about the model and slmkit cannot read from the files (its own
  // version, trained_on, license, ...), kept as given; written only when not empty.
  nlohmann::ordered_json model_info = nlohmann::ordered_json::object();

  nlohmann::ordered_json to_json() const;
  static Manifest from_json(const nlohmann::ordered_json& j);  // Error naming the bad field
};

// Describes an artifact (GGUF file or ONNX folder/file) found under `base`: reads its metadata,
// hashes every file that belongs to it. model_name: the name to record; "": the name the
// artifact carries (GGUF general.name), or its file / folder name where that is empty or only
// the architecture ("llama", as llama.cpp's converters often write).
Manifest describe_artifact(const std::filesystem::path& artifact, const std::filesystem::path& base,
                           const std::string& model_name = "");

// `stored` unless it is empty or only names the architecture (case aside); then `fallback`.
std::string recognizable_model_name(const std::string& stored, const std::string& architecture,
                                    const std::string& fallback);

// Writes DIR/NAME.json atomically and returns its path.
std::filesystem::path write_manifest(const Manifest& manifest, const std::filesystem::path& dir);
// Writes DIR/checksums.txt in `sha256sum` format ("HEX  relative/path") for every file of every
// manifest, paths relative to DIR's parent (the output root), sorted.
std::filesystem::path write_checksums(const std::vector<Manifest>& manifests,
                                      const std::filesystem::path& dir);

struct VerifyProblem {
  std::filesystem::path path;
  std::string what;  // "missing", "size 123 != 124", "sha256 ab.. != cd.."
};

// Re-checks a manifest (NAME.json) or a checksums.txt: existence, sizes and checksums of every
// file it lists. Empty: all good.
std::vector<VerifyProblem> verify_manifest(const std::filesystem::path& manifest_or_checksums);

}  // namespace slmkit
