// GGUF validation: the container's bytes (checked here, independently of whether the loader
// would accept them) and the model run in our engine against its FP32 reference.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "formats/gguf.h"
#include "formats/model_io.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"
#include "validate/checks.h"

namespace slmkit::validation {

namespace fs = std::filesystem;

namespace {

uint64_t align_up(uint64_t n, uint64_t a) {
  return (n + a - 1) / a * a;
}

bool is_string_array(const gguf::Value& v) {
  const auto* a = std::get_if<gguf::Array>(&v.v);
  return a && a->type == gguf::ValueType::string;
}

// A required key: present, and of the kind the family reads.
void metadata_check(const gguf::File& f, const std::string& key, bool want_string, Checks& checks) {
  const gguf::Value* v = f.find(key);
  if (!v) {
    checks.expect("gguf.metadata." + key, false, "key missing");
    return;
  }
  if (want_string) {
    const bool ok = v->type() == gguf::ValueType::string && !std::get<std::string>(v->v).empty();
    checks.expect("gguf.metadata." + key, ok,
                  ok ? std::get<std::string>(v->v)
                     : fmt::format("expected a non-empty string, found {}",
                                   gguf::value_type_name(v->type())));
    return;
  }
  try {
    const int64_t n = v->as_i64(key);
    checks.expect("gguf.metadata." + key, n > 0, fmt::format("{}", n));
  } catch (const Error& e) {
    checks.expect("gguf.metadata." + key, false, e.what());
  }
}

}  // namespace

std::optional<GgufRead> gguf_format_checks(const fs::path& path, Checks& checks) {
  uint32_t version = 0;
  {
    std::ifstream in(path, std::ios::binary);
    char head[8] = {};
    in.read(head, 8);
    const bool magic = in.gcount() >= 4 && std::memcmp(head, "GGUF", 4) == 0;
    checks.expect("gguf.magic", magic, magic ? "GGUF" : "the file does not start with 'GGUF'");
    if (!magic) return std::nullopt;
    std::memcpy(&version, head + 4, 4);
    const bool ok = in.gcount() == 8 && (version == 2 || version == 3);
    checks.expect("gguf.version", ok, fmt::format("version {} (2 and 3 are read)", version));
    if (!ok) return std::nullopt;
  }
  gguf::File f;
  try {
    f = gguf::read_file(path);
  } catch (const Error& e) {
    // The parser stops at the first problem; truncated tensor data is the one a copy or a
    // download most often produces, so it gets its own name.
    const std::string what = e.what();
    // The parser's two messages about the data section (gguf_read.cpp place_tensors); a file
    // cut inside its header reads "truncated at offset", which is a structure problem.
    const bool truncated = what.find("truncated: tensor '") != std::string::npos ||
                           what.find("the data section should start") != std::string::npos;
    checks.expect(truncated ? "gguf.tensor_data" : "gguf.structure", false, what);
    return std::nullopt;
  }
  checks.expect("gguf.structure", true,
                fmt::format("{} key-values, {} tensors, alignment {}, data at offset {}",
                            f.kvs.size(), f.tensors.size(), f.alignment, f.data_offset));

  std::string arch;
  if (const gguf::Value* v = f.find("general.architecture");
      v && v->type() == gguf::ValueType::string)
    arch = std::get<std::string>(v->v);
  metadata_check(f, "general.architecture", true, checks);
  metadata_check(f, "general.name", true, checks);
  {
    const gguf::Value* v = f.find("tokenizer.ggml.tokens");
    checks.expect("gguf.metadata.tokenizer.ggml.tokens", v && is_string_array(*v),
                  !v ? "key missing"
                  : is_string_array(*v)
                      ? fmt::format("{} tokens", std::get<gguf::Array>(v->v).items.size())
                      : "not an array of strings");
  }
  if (!arch.empty()) {
    for (const char* k : {"context_length", "embedding_length", "block_count",
                          "attention.head_count", "feed_forward_length"}) {
      metadata_check(f, arch + "." + k, false, checks);
    }
  }

  // Each tensor's byte size from its type and shape, and its data inside the file.
  int bad = 0;
  std::string first_bad;
  for (const gguf::TensorInfo& t : f.tensors) {
    uint64_t rows = 1;
    for (size_t i = 1; i < t.ne.size(); ++i) rows *= t.ne[i];
    const auto row = row_bytes(t.type, t.ne.empty() ? 1 : t.ne[0]);
    const bool ok =
        row && *row * rows == t.n_bytes && f.data_offset + t.offset + t.n_bytes <= f.bytes.size();
    if (!ok && bad++ == 0)
      first_bad =
          fmt::format("{} ({}, ne[0] {})", t.name, dtype_name(t.type), t.ne.empty() ? 0 : t.ne[0]);
  }
  checks.measure("gguf.tensor_data", bad, "==", 0,
                 bad ? "tensors whose bytes do not match type x shape or lie outside the file, "
                       "first " +
                           first_bad
                     : fmt::format("{} tensors, sizes match type x shape, all inside the file",
                                   f.tensors.size()));

  // What follows the last tensor: at most its padding to the alignment, all zeros.
  uint64_t end = f.data_offset;
  if (!f.tensors.empty()) end += f.tensors.back().offset + f.tensors.back().n_bytes;
  const uint64_t padded = f.tensors.empty() ? end : align_up(end, f.alignment);
  uint64_t garbage = 0;
  for (uint64_t i = end; i < f.bytes.size(); ++i) {
    if (i >= padded || f.bytes[i] != std::byte{0}) ++garbage;
  }
  checks.measure("gguf.trailing_bytes", static_cast<double>(garbage), "==", 0,
                 fmt::format("file {} bytes, last tensor ends at {} (padded {})", f.bytes.size(),
                             end, padded));

  // The vocabulary and the embedding (and a separate output head) agree on the row count.
  const gguf::Value* tokens = f.find("tokenizer.ggml.tokens");
  const gguf::TensorInfo* emb = f.find_tensor("token_embd.weight");
  if (tokens && is_string_array(*tokens) && emb && emb->ne.size() == 2) {
    const auto n_tokens = static_cast<double>(std::get<gguf::Array>(tokens->v).items.size());
    const gguf::TensorInfo* out = f.find_tensor("output.weight");
    const bool head_ok = !out || (out->ne.size() == 2 && out->ne[1] == emb->ne[1]);
    checks.measure("gguf.vocab_size", n_tokens, "==", static_cast<double>(emb->ne[1]),
                   fmt::format("tokenizer.ggml.tokens vs token_embd.weight rows{}",
                               head_ok ? "" : "; output.weight rows differ"));
    if (!head_ok) checks.expect("gguf.output_rows", false, "output.weight rows != vocabulary");
  } else {
    checks.expect("gguf.vocab_size", false,
                  "needs tokenizer.ggml.tokens and a 2-D token_embd.weight");
  }

  // The family's reading of the file: every tensor the config implies, with its shape.
  try {
    Model m = model_from_gguf(f);
    checks.expect("gguf.model_config", true,
                  fmt::format("{} {}: {} layers, n_embd {}, vocab {}", m.config.arch, m.config.name,
                              m.config.n_layer, m.config.n_embd, m.config.vocab_size));
    return GgufRead{std::move(f), std::move(m)};
  } catch (const Error& e) {
    checks.expect("gguf.model_config", false, e.what());
    return std::nullopt;
  }
}

Model widened_to_f32(const Model& m) {
  Model out;
  out.config = m.config;
  out.vocab = m.vocab;
  out.source = m.source;
  for (const Tensor& t : m.tensors()) {
    if (t.dtype() == DType::F32) {
      out.add(t);
      continue;
    }
    const std::vector<float> v = dequantize(t);
    std::vector<std::byte> bytes(v.size() * sizeof(float));
    std::memcpy(bytes.data(), v.data(), bytes.size());
    out.add(Tensor::owned(t.name(), DType::F32, t.shape(), std::move(bytes)));
  }
  out.config.file_type = -1;
  return out;
}

void gguf_functional_checks(const Engine& artifact, const std::vector<int32_t>& prompt,
                            Reference& reference, const std::string& precision,
                            const ValidateOptions& options, Checks& checks) {
  const PrecisionBounds b =
      widened_by_matrix_types(reference.bounds(precision), precision, artifact.model());
  const int64_t vocab = artifact.config().vocab_size;
  if (reference.vocab_size() != vocab) {
    checks.measure("functional.reference_vocab", static_cast<double>(vocab),
                   "==", static_cast<double>(reference.vocab_size()),
                   "the reference has another vocabulary");
    return;
  }
  FunctionalResult r;
  try {
    const ReferenceRun& ref = reference.run(prompt);
    const EngineRun art =
        run_engine(artifact, prompt, options.n_compare, &ref.greedy, options.n_threads);
    r.reference_greedy = ref.greedy;
    r.artifact_greedy = art.greedy;
    r.reference_logits = ref.logits;
    r.artifact_logits = art.logits;
    r.vocab = vocab;
    r.tokens_per_second = art.tokens_per_second;
    r.reference_name = reference.name();
  } catch (const Error& e) {
    checks.expect("functional.run", false, e.what());
    return;
  }
  record_functional(r, b, options, "", checks);
}

}  // namespace slmkit::validation
