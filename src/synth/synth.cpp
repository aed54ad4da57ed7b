#include <cmath>
#include <cstring>

#include "arch/arch.h"
#include "core/fail.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "formats/tensor_transforms.h"
#include "slmkit/synth.h"
#include "synth/shapes.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

// splitmix64: a counter-based generator, so every tensor's stream depends only on (seed, index).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform on [-1, 1): standard deviation 1/sqrt(3).
  float symmetric() {
    return static_cast<float>(static_cast<int64_t>(next() >> 11) - (int64_t{1} << 52)) * 0x1p-52f;
  }
};

// Elements are generated in fixed chunks, each from its own stream, so the bytes do not depend
// on how many threads share the work.
constexpr int64_t kChunk = int64_t{1} << 16;

template <typename Store>
void fill_uniform(int64_t count, uint64_t stream, float center, float half_width, Store store,
                  ThreadPool& pool) {
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  pool.parallel_for(chunks, [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c) {
      Rng rng{stream ^ (static_cast<uint64_t>(c) * 0xd1342543de82ef95ull)};
      const int64_t end = std::min(count, (c + 1) * kChunk);
      for (int64_t i = c * kChunk; i < end; ++i) store(i, center + half_width * rng.symmetric());
    }
  });
}

// Hugging Face's initialization (GPT-2, Llama, Qwen2 and Gemma 3 alike: initializer_range 0.02)
// with GPT-2's scaling of the projections that write into the residual stream by
// 1/sqrt(2 * n_layer), so that a fresh model's logits are near uniform (perplexity near the
// vocabulary size) at any depth and width. Norm weights sit near 1 and biases near 0 but not at
// them, so that a norm or bias applied wrongly still shows in the logits.
Tensor random_tensor(const arch::TensorSpec& spec, const ModelConfig& config, DType dtype,
                     uint64_t seed, size_t index, ThreadPool& pool) {
  constexpr float kInitializerRange = 0.02f;
  const std::string& n = spec.name;
  const bool is_norm = n.find("norm.") != std::string::npos;
  const bool is_bias = n.ends_with(".bias");
  const bool writes_residual = n.ends_with("attn_output.weight") || n.ends_with("ffn_down.weight");
  float center = 0.0f, std_dev = kInitializerRange;
  if (is_norm && !is_bias) {
    center = 1.0f, std_dev = 0.05f;
  } else if (is_bias) {
    std_dev = 0.05f;
  } else if (writes_residual) {
    std_dev = kInitializerRange / std::sqrt(2.0f * static_cast<float>(config.n_layer));
  }
  const DType type = (is_norm || is_bias || spec.shape.size() < 2) ? DType::F32 : dtype;
  int64_t count = 1;
  for (int64_t d : spec.shape) count *= d;
  std::vector<std::byte> bytes(static_cast<size_t>(count) * traits(type).block_bytes);
  const uint64_t stream = Rng{seed * 0x100000001b3ull + index * 0x9e3779b97f4a7c15ull + 1}.next();
  const float half_width = std_dev * std::sqrt(3.0f);  // uniform on [-a, a] has std a/sqrt(3)
  std::byte* out = bytes.data();
  if (type == DType::F32) {
    fill_uniform(
        count, stream, center, half_width,
        [out](int64_t i, float v) { std::memcpy(out + 4 * i, &v, 4); }, pool);
  } else {
    // F16 or BF16: the same values through the type's rounding, two bytes each.
    const auto fill_16bit = [&](auto to_bits) {
      fill_uniform(
          count, stream, center, half_width,
          [out, to_bits](int64_t i, float v) {
            const uint16_t h = to_bits(v);
            std::memcpy(out + 2 * i, &h, 2);
          },
          pool);
    };
    if (type == DType::F16) {
      fill_16bit([](float v) { return f32_to_f16(v); });
    } else {
      fill_16bit([](float v) { return f32_to_bf16(v); });
    }
  }
  return Tensor::owned(spec.name, type, spec.shape, std::move(bytes));
}

// GPT-2's printable stand-ins for the 256 byte values (byte-level BPE's alphabet).
std::string byte_token(int b) {
  int cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
    int n = 0;
    for (int x = 0; x < b; ++x) {
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) ++n;
    }
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// A byte-level vocabulary for when the family's tokenizer is not available: 256 byte tokens and
// an end-of-text token; no merges, so every byte is one token.
Vocab byte_level_vocab() {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(byte_token(b));
    v.types.push_back(TokenType::normal);
  }
  v.tokens.push_back("<|endoftext|>");
  v.types.push_back(TokenType::control);
  v.bos_id = v.eos_id = 256;
  v.source = "slmkit byte-level fallback";
  return v;
}

Vocab load_tokenizer(const fs::path& path) {
  if (fs::is_directory(path)) return read_folder_vocab(path);
  const std::string file = path.filename().string();
  Vocab v;
  if (file == "tokenizer.model") {
    v = read_sentencepiece_model(path);
  } else if (file == "encoder.json" || file == "vocab.json") {
    const fs::path dir = path.parent_path();
    v = read_vocab_and_merges(
        path, fs::exists(dir / "merges.txt") ? dir / "merges.txt" : dir / "vocab.bpe");
  } else {
    v = read_tokenizer_json(path);
  }
  v.source = path.string();  // the Hugging Face writer copies the tokenizer files from here
  return v;
}

Vocab shape_vocab(const SynthOptions& o, const synth::ShapeSpec& shape) {
  Vocab v;
  if (!o.tokenizer.empty()) {
    v = load_tokenizer(o.tokenizer);
  } else {
    for (const fs::path& dir : o.tokenizer_dirs) {
      if (fs::exists(dir / shape.tokenizer)) {
        v = load_tokenizer(dir / shape.tokenizer);
        break;
      }
    }
    if (v.empty()) v = byte_level_vocab();
  }
  // Tokenizers may list added tokens past the checkpoint's embedding rows (Gemma 3's
  // <image_soft_token> is id 262144 of a 262,144-row model); such trailing added tokens are
  // dropped, ordinary ones are an error.
  while (static_cast<int64_t>(v.size()) > shape.vocab_size && !v.types.empty() &&
         (v.types.back() == TokenType::control || v.types.back() == TokenType::user_defined)) {
    v.tokens.pop_back();
    v.types.pop_back();
    if (!v.scores.empty()) v.scores.pop_back();
  }
  for (int32_t* id : {&v.bos_id, &v.eos_id, &v.unk_id, &v.pad_id, &v.eot_id}) {
    if (*id >= static_cast<int32_t>(v.size())) *id = -1;
  }
  if (static_cast<int64_t>(v.size()) > shape.vocab_size) {
    fail_invalid("tokenizer {} has {} tokens, more than the {} rows of shape '{}'", v.source,
                 v.size(), shape.vocab_size, shape.name);
  }
  // Pad to the embedding rows the way llama.cpp's converter pads Qwen's vocabulary.
  const bool has_scores = !v.scores.empty();
  const bool has_types = !v.types.empty();
  for (auto i = static_cast<int64_t>(v.size()); i < shape.vocab_size; ++i) {
    v.tokens.push_back("[PAD" + std::to_string(i) + "]");
    if (has_scores) v.scores.push_back(-1000.0f);
    if (has_types) v.types.push_back(TokenType::unused);
  }
  return v;
}

}  // namespace

std::vector<SynthShape> synth_shapes() {
  std::vector<SynthShape> out;
  for (const synth::ShapeSpec& s : synth::shapes())
    out.push_back({std::string(s.name), std::string(s.arch), std::string(s.tokenizer)});
  return out;
}

Model synthesize_model(const SynthOptions& o) {
  if (!arch::find(o.arch)) {
    fail_invalid("unknown architecture '{}' (supported: {})", o.arch, arch::supported_names());
  }
  const synth::ShapeSpec* shape = synth::find_shape(o.arch, o.shape);
  if (!shape) {
    std::string names;
    for (const synth::ShapeSpec& s : synth::shapes()) {
      if (s.arch == o.arch) names += (names.empty() ? "" : ", ") + std::string(s.name);
    }
    fail_invalid("unknown shape '{}' for {} (shapes: {})", o.shape, o.arch, names);
  }
  if (o.dtype != DType::F32 && o.dtype != DType::F16 && o.dtype != DType::BF16) {
    fail_invalid("synthetic weights can be f32, f16 or bf16, not {}", dtype_name(o.dtype));
  }
  Model m;
  m.config = synth::shape_config(*shape);
  m.source.format = "synthetic";
  m.source.synthetic = true;
  m.source.metadata = {{"shape", shape->name}, {"arch", shape->arch}, {"seed", o.seed}};
  m.vocab = shape_vocab(o, *shape);
  m.config.bos_id = m.vocab.bos_id;
  m.config.eos_id = m.vocab.eos_id;
  m.config.pad_id = m.vocab.pad_id;
  ThreadPool pool(0, 0);
  size_t index = 0;
  for (const arch::TensorSpec& spec : arch::expected_tensors(m.config)) {
    ++index;
    if (!spec.required) continue;  // no stored copy of a tied head; rope_freqs is derived
    m.add(random_tensor(spec, m.config, o.dtype, o.seed, index, pool));
  }
  if (m.config.rope.scaling == RopeScaling::llama3) m.add(llama3_rope_factors(m.config));
  arch::check_model(m, m.config.name);
  return m;
}

}  // namespace slmkit
