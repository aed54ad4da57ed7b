#include "formats/llama2c.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "slmkit/error.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit::llama2c {
namespace {

using testing::fixture;

const char* k260K = "models/llama2c-stories260K/stories260K.bin";
const char* k3M = "models/stories3M/stories3M.bin";

using testing::contains;
using testing::expect_error;

float f32_at(const Tensor& t, size_t i) {
  float v;
  std::memcpy(&v, t.data() + i * 4, 4);
  return v;
}

void put_i32(std::vector<std::byte>& b, size_t at, int32_t v) {
  std::memcpy(b.data() + at, &v, 4);
}

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

// The tensors in the order llama.cpp's converter wrote them into the GGUF (output.weight is a
// copy of token_embd.weight there when the classifier is shared).
std::vector<std::string> gguf_order(int n_layers) {
  std::vector<std::string> names = {"token_embd.weight", "output_norm.weight", "output.weight"};
  for (int i = 0; i < n_layers; ++i) {
    for (const char* t : {"attn_q", "attn_k", "attn_v", "attn_output", "attn_norm", "ffn_gate",
                          "ffn_down", "ffn_up", "ffn_norm"}) {
      names.push_back("blk." + std::to_string(i) + "." + t + ".weight");
    }
  }
  return names;
}

// FNV-1a 64 over (name, NUL, data) of every tensor in GGUF order. The expected values were
// computed by a Python struct-module script over the tensors of the GGUF files llama.cpp's
// converter made from these checkpoints: equal hashes mean bit-identical tensors under the
// same names and shapes.
uint64_t gguf_fingerprint(const Model& m) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const std::string& name : gguf_order(static_cast<int>(m.config.n_layer))) {
    const Tensor* t = m.find(name);
    if (!t && name == "output.weight" && m.config.tied_embeddings) t = m.find("token_embd.weight");
    if (!t) {
      ADD_FAILURE() << "missing " << name;
      return 0;
    }
    h = fnv1a(h, name.c_str(), name.size() + 1);
    h = fnv1a(h, t->data(), t->n_bytes());
  }
  return h;
}

// A version-1 ("ak42") export of `m`, laid out as export.py's version1_export writes it.
std::vector<std::byte> version1_bytes(const Model& m) {
  const ModelConfig& c = m.config;
  std::vector<std::byte> out(256);
  const uint32_t magic = kMagicV1;
  std::memcpy(out.data(), &magic, 4);
  put_i32(out, 4, 1);
  const int32_t fields[7] = {
      static_cast<int32_t>(c.n_embd),        static_cast<int32_t>(c.n_ff),
      static_cast<int32_t>(c.n_layer),       static_cast<int32_t>(c.n_head),
      static_cast<int32_t>(c.n_head_kv),     static_cast<int32_t>(c.vocab_size),
      static_cast<int32_t>(c.context_length)};
  std::memcpy(out.data() + 8, fields, sizeof fields);
  out[36] = std::byte{c.tied_embeddings ? uint8_t{1} : uint8_t{0}};
  auto append = [&](const std::string& name) {
    const Tensor& t = m.get(name);
    out.insert(out.end(), t.bytes().begin(), t.bytes().end());
  };
  auto per_layer = [&](const char* kind) {
    for (int64_t i = 0; i < c.n_layer; ++i)
      append("blk." + std::to_string(i) + "." + kind + ".weight");
  };
  per_layer("attn_norm");
  per_layer("ffn_norm");
  append("output_norm.weight");
  append("token_embd.weight");
  for (const char* kind :
       {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_down", "ffn_up"}) {
    per_layer(kind);
  }
  if (!c.tied_embeddings) append("output.weight");
  return out;
}

void expect_same_tensors(const Model& a, const Model& b) {
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const Tensor& x = a.tensors()[i];
    const Tensor& y = b.tensors()[i];
    EXPECT_EQ(x.name(), y.name());
    EXPECT_EQ(x.shape(), y.shape()) << x.name();
    ASSERT_EQ(x.n_bytes(), y.n_bytes()) << x.name();
    EXPECT_TRUE(std::equal(x.bytes().begin(), x.bytes().end(), y.bytes().begin())) << x.name();
  }
}

// ---------------------------------------------------------------------------------------------

TEST(Llama2c, ReadsStories260K) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model m = read_file(fixture(k260K));
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.name, "stories260K");
  EXPECT_EQ(c.n_embd, 64);
  EXPECT_EQ(c.n_ff, 172);
  EXPECT_EQ(c.n_layer, 5);
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_head_kv, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.context_length, 512);
  EXPECT_EQ(c.norm, NormKind::rms_norm);
  EXPECT_EQ(c.norm_eps, 1e-5);
  EXPECT_EQ(c.activation, Activation::silu);
  EXPECT_TRUE(c.gated_ffn);
  EXPECT_EQ(c.rope.style, RopeStyle::normal);
  EXPECT_EQ(c.rope.n_dims, 8);
  EXPECT_EQ(c.rope.freq_base, 10000.0);
  EXPECT_EQ(c.layer_attention, std::vector<AttentionKind>(5, AttentionKind::global));
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.bos_id, 1);
  EXPECT_EQ(c.eos_id, 2);
  EXPECT_EQ(m.source.format, "llama2c");
  EXPECT_EQ(m.source.metadata.at("vocab_size"), 512);
  EXPECT_EQ(m.source.metadata.at("shared_classifier"), true);
  EXPECT_EQ(m.source.metadata.at("version"), 0);
  EXPECT_TRUE(m.vocab.empty());

  // token_embd + output_norm + 5 layers x 9; no output.weight (shared classifier).
  EXPECT_EQ(m.tensors().size(), 47u);
  EXPECT_EQ(m.find("output.weight"), nullptr);
  EXPECT_EQ(m.n_parameters(), 260032);
  EXPECT_EQ(m.n_bytes(), 260032u * 4);
  EXPECT_EQ(m.get("token_embd.weight").shape(), (Shape{512, 64}));
  EXPECT_EQ(m.get("blk.0.attn_q.weight").shape(), (Shape{64, 64}));
  EXPECT_EQ(m.get("blk.0.attn_k.weight").shape(), (Shape{32, 64}));
  EXPECT_EQ(m.get("blk.4.attn_v.weight").shape(), (Shape{32, 64}));
  EXPECT_EQ(m.get("blk.2.attn_output.weight").shape(), (Shape{64, 64}));
  EXPECT_EQ(m.get("blk.1.ffn_gate.weight").shape(), (Shape{172, 64}));
  EXPECT_EQ(m.get("blk.1.ffn_down.weight").shape(), (Shape{64, 172}));
  EXPECT_EQ(m.get("blk.1.ffn_up.weight").shape(), (Shape{172, 64}));
  EXPECT_EQ(m.get("blk.3.ffn_norm.weight").shape(), (Shape{64}));
  EXPECT_EQ(m.get("output_norm.weight").shape(), (Shape{64}));

  // Views into one mapping at the offsets of run.c's memory_map_weights.
  const Tensor& emb = m.get("token_embd.weight");
  EXPECT_EQ(m.get("blk.0.attn_norm.weight").data(), emb.data() + 512 * 64 * 4);
  EXPECT_EQ(m.get("blk.1.attn_norm.weight").data(), emb.data() + 512 * 64 * 4 + 64 * 4);
  EXPECT_EQ(m.get("blk.0.attn_q.weight").data(), emb.data() + (512 * 64 + 5 * 64) * 4);
  for (const Tensor& t : m.tensors()) EXPECT_EQ(t.owner(), emb.owner()) << t.name();
  EXPECT_NE(emb.owner(), nullptr);
  EXPECT_EQ(f32_at(emb, 0), -0.29474878311157227f);
  EXPECT_EQ(f32_at(emb, 1), 0.5618956089019775f);
  EXPECT_EQ(f32_at(emb, 3), 0.34057360887527466f);

  EXPECT_EQ(gguf_fingerprint(m), 0x74b52fee48787906ull);
}

TEST(Llama2c, ReadsStories3MWithSeparateClassifier) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model m = read_file(fixture(k3M));
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.n_embd, 256);
  EXPECT_EQ(c.n_ff, 768);
  EXPECT_EQ(c.n_layer, 4);
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_head_kv, 4);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.rope.n_dims, 32);
  EXPECT_EQ(c.vocab_size, 512);  // stored as -512
  EXPECT_EQ(c.context_length, 256);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(m.source.metadata.at("shared_classifier"), false);
  EXPECT_EQ(m.tensors().size(), 39u);
  EXPECT_EQ(m.get("output.weight").shape(), (Shape{512, 256}));
  EXPECT_EQ(m.n_parameters(), 3410176);
  EXPECT_EQ(f32_at(m.get("token_embd.weight"), 0), -0.006835925858467817f);
  EXPECT_EQ(gguf_fingerprint(m), 0x2957196fc3b8b842ull);
}

TEST(Llama2c, ReadsVersion1Exports) {
  SLMKIT_REQUIRE_FIXTURES();
  for (const char* path : {k260K, k3M}) {
    const Model legacy = read_file(fixture(path));
    const auto v1 = version1_bytes(legacy);
    ASSERT_TRUE(looks_like_checkpoint(v1)) << path;
    const Model m = parse(v1, "v1.bin", nullptr);
    EXPECT_EQ(m.source.metadata.at("version"), 1);
    EXPECT_EQ(m.config.tied_embeddings, legacy.config.tied_embeddings);
    EXPECT_EQ(m.config.context_length, legacy.config.context_length);
    expect_same_tensors(legacy, m);
    EXPECT_EQ(m.n_parameters(), legacy.n_parameters());
    EXPECT_EQ(m.get("token_embd.weight").data(),
              v1.data() + 256 + (2 * legacy.config.n_layer + 1) * legacy.config.n_embd * 4);
  }
}

TEST(Llama2c, OtherVersionsAndFlags) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model legacy = read_file(fixture(k260K));
  auto v1 = version1_bytes(legacy);
  put_i32(v1, 4, 2);
  Error e = expect_error([&] { parse(v1, "v2.bin", nullptr); });
  EXPECT_EQ(e.kind(), ErrorKind::unsupported);
  EXPECT_TRUE(contains(e, "v2.bin: llama2.c version 2")) << e.what();
  put_i32(v1, 4, 7);
  e = expect_error([&] { parse(v1, "v7.bin", nullptr); });
  EXPECT_EQ(e.kind(), ErrorKind::unsupported);
  EXPECT_TRUE(contains(e, "unknown llama2.c version 7")) << e.what();
  put_i32(v1, 4, 1);
  v1[36] = std::byte{2};
  e = expect_error([&] { parse(v1, "v1.bin", nullptr); });
  EXPECT_TRUE(contains(e, "shared_classifier at offset 36 = 2")) << e.what();
  v1[36] = std::byte{1};
  put_i32(v1, 28, -512);  // version 1 keeps the flag apart: a negative vocab is just wrong
  e = expect_error([&] { parse(v1, "v1.bin", nullptr); });
  EXPECT_TRUE(contains(e, "vocab_size = -512")) << e.what();
  // A version-1 header cut inside its padding.
  std::vector<std::byte> cut(v1.begin(), v1.begin() + 100);
  put_i32(cut, 28, 512);
  e = expect_error([&] { parse(cut, "cut.bin", nullptr); });
  EXPECT_TRUE(contains(e, "cut.bin: truncated at offset 37 reading header padding")) << e.what();
}

TEST(Llama2c, FileSizeMustBeExact) {
  SLMKIT_REQUIRE_FIXTURES();
  auto bytes = testing::read_bytes(fixture(k260K));
  ASSERT_EQ(bytes.size(), 1056540u);
  bytes.push_back(std::byte{0});
  Error e = expect_error([&] { parse(bytes, "plus1.bin", nullptr); });
  EXPECT_TRUE(contains(e, "implies 1056540 bytes, the file has 1056541")) << e.what();
  EXPECT_FALSE(looks_like_checkpoint(bytes));
  bytes.resize(1056539);
  e = expect_error([&] { parse(bytes, "minus1.bin", nullptr); });
  EXPECT_TRUE(contains(e,
                       "minus1.bin: the header (dim 64, hidden_dim 172, n_layers 5, n_heads 8, "
                       "n_kv_heads 4, vocab 512, seq_len 512, shared classifier) implies "
                       "1056540 bytes, the file has 1056539"))
      << e.what();
  // The flag flipped: a separate classifier would need 512 x 64 more floats.
  bytes = testing::read_bytes(fixture(k260K));
  put_i32(bytes, 20, -512);
  e = expect_error([&] { parse(bytes, "flag.bin", nullptr); });
  EXPECT_TRUE(contains(e, "implies 1187612 bytes")) << e.what();
}

struct BadField {
  size_t offset;  // of the int32 in the legacy header
  int32_t value;
  const char* expect;
};

TEST(Llama2c, HostileHeaderValues) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto good = testing::read_bytes(fixture(k260K));
  const BadField cases[] = {
      {0, -64, "dim = -64: expected 1..65536"},
      {0, 0, "dim = 0"},
      {0, 1 << 30, "dim = 1073741824: expected 1..65536"},
      {0, INT32_MAX, "dim = 2147483647"},
      {0, 72, "head size 9 (dim 72 / n_heads 8) must be even"},
      {0, 60, "n_heads 8 does not divide dim 60"},
      {4, -1, "hidden_dim = -1"},
      {4, 1 << 30, "hidden_dim = 1073741824"},
      {8, 0, "n_layers = 0"},
      {8, -5, "n_layers = -5"},
      {8, 100000, "n_layers = 100000: expected 1..1024"},
      {12, 0, "n_heads = 0"},
      {12, 128, "n_heads = 128: expected 1..64"},
      {12, 3, "n_kv_heads = 4: expected 1..3"},
      {16, 3, "n_kv_heads 3 does not divide n_heads 8"},
      {16, 16, "n_kv_heads = 16: expected 1..8"},
      {16, -4, "n_kv_heads = -4"},
      {20, 0, "vocab_size = 0"},
      {20, INT32_MIN, "vocab_size = -2147483648"},
      {20, 1 << 30, "vocab_size = 1073741824"},
      {24, 0, "seq_len = 0"},
      {24, -512, "seq_len = -512"},
      {24, 1 << 30, "seq_len = 1073741824"},
      {24, 513, "implies 1056572 bytes"},  // sane values, wrong size: RoPE tables grow
  };
  for (const BadField& c : cases) {
    auto bytes = good;
    put_i32(bytes, c.offset, c.value);
    const Error e = expect_error([&] { parse(bytes, "bad.bin", nullptr); });
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << c.expect;
    EXPECT_TRUE(contains(e, c.expect)) << c.expect << " -> " << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("bad.bin: ", 0), 0u) << e.what();
    EXPECT_FALSE(looks_like_checkpoint(bytes)) << c.expect;
  }
}

TEST(Llama2c, EveryTruncationIsAnError) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto whole = testing::read_bytes(fixture(k260K));
  std::vector<size_t> cuts;
  for (size_t n = 0; n <= 64; ++n) cuts.push_back(n);
  std::mt19937_64 rng(99);
  for (int i = 0; i < 64; ++i) cuts.push_back(rng() % whole.size());
  cuts.push_back(whole.size() - 1);
  for (size_t n : cuts) {
    std::span<const std::byte> cut(whole.data(), n);
    const Error e = expect_error([&] { parse(cut, "cut.bin", nullptr); });
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << n;
    EXPECT_EQ(std::string(e.what()).rfind("cut.bin: ", 0), 0u) << n << ": " << e.what();
    EXPECT_FALSE(looks_like_checkpoint(cut)) << n;
  }
}

TEST(Llama2c, RandomHeaderBytesNeverEscape) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto whole = testing::read_bytes(fixture(k260K));
  std::mt19937_64 rng(5);
  int errors = 0;
  for (int i = 0; i < 2000; ++i) {
    auto b = whole;
    b[rng() % 28] = static_cast<std::byte>(rng() & 0xff);
    try {
      const Model m = parse(b, "flip.bin", nullptr);
      // Only a header consistent with the size parses: tensors + header + RoPE tables.
      const auto rope_bytes =
          static_cast<uint64_t>(m.config.context_length * m.config.head_dim * 4);
      EXPECT_EQ(m.n_bytes() + 28 + rope_bytes, whole.size());
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 1500);
}

TEST(Llama2c, LooksLikeCheckpoint) {
  SLMKIT_REQUIRE_FIXTURES();
  EXPECT_TRUE(looks_like_checkpoint(testing::read_bytes(fixture(k260K))));
  EXPECT_TRUE(looks_like_checkpoint(testing::read_bytes(fixture(k3M))));
  for (const char* other :
       {"models/gguf-stories260K/stories260K.gguf", "models/llama2c-stories260K/tok512.bin",
        "models/hf-gpt2-tiny-random/model.safetensors", "models/stories3M/stories3M.gguf"}) {
    EXPECT_FALSE(looks_like_checkpoint(testing::read_bytes(fixture(other)))) << other;
  }
  EXPECT_FALSE(looks_like_checkpoint({}));
  const Error e = expect_error([] { read_file("/nonexistent/model.bin"); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_TRUE(contains(e, "/nonexistent/model.bin")) << e.what();
}

}  // namespace
}  // namespace slmkit::llama2c
