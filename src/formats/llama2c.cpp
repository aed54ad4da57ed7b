// llama2.c checkpoints -> the neutral Model, as views into the mapped file.
#include "formats/llama2c.h"

#include <limits>

#include "arch/arch.h"
#include "core/byte_reader.h"
#include "core/fail.h"
#include "core/mapped_file.h"
#include "formats/model_io.h"

namespace slmkit::llama2c {
namespace {

// Generous bounds: far above any llama2.c model, low enough that no size computed from them can
// overflow 64 bits.
constexpr int32_t kMaxDim = 1 << 16;
constexpr int32_t kMaxHidden = 1 << 18;
constexpr int32_t kMaxLayers = 1 << 10;
constexpr int32_t kMaxVocab = 1 << 22;
constexpr int32_t kMaxSeqLen = 1 << 22;

void check_range(const std::string& path, const char* field, int64_t value, int64_t max) {
  if (value <= 0 || value > max) {
    fail_invalid("{}: header field {} = {}: expected 1..{}", path, field, value, max);
  }
}

// Byte offsets (from the start of the file) of the stacked weight arrays, in float units
// converted to bytes as they are laid out.
struct Layout {
  uint64_t token_embd = 0;  // (vocab, dim)
  uint64_t rms_att = 0;     // (layer, dim)
  uint64_t wq = 0;          // (layer, dim, dim)
  uint64_t wk = 0;          // (layer, kv_dim, dim)
  uint64_t wv = 0;          // (layer, kv_dim, dim)
  uint64_t wo = 0;          // (layer, dim, dim)
  uint64_t rms_ffn = 0;     // (layer, dim)
  uint64_t w1 = 0;          // (layer, hidden, dim)
  uint64_t w2 = 0;          // (layer, dim, hidden)
  uint64_t w3 = 0;          // (layer, hidden, dim)
  uint64_t rms_final = 0;   // (dim)
  uint64_t freq_cis = 0;    // legacy only: (seq_len, head_dim / 2) real, then imag
  uint64_t wcls = 0;        // (vocab, dim), when not shared
  uint64_t end = 0;
};

Layout layout_of(const Header& h) {
  const uint64_t dim = static_cast<uint64_t>(h.dim);
  const uint64_t hidden = static_cast<uint64_t>(h.hidden_dim);
  const uint64_t layers = static_cast<uint64_t>(h.n_layers);
  const uint64_t vocab = static_cast<uint64_t>(h.vocab_size);
  const uint64_t kv_dim = static_cast<uint64_t>(h.kv_dim());
  const uint64_t head = static_cast<uint64_t>(h.head_dim());
  Layout l;
  uint64_t at = h.header_bytes;
  auto take = [&at](uint64_t& field, uint64_t n_floats) {
    field = at;
    at += n_floats * sizeof(float);
  };
  if (h.version == 0) {
    take(l.token_embd, vocab * dim);
    take(l.rms_att, layers * dim);
    take(l.wq, layers * dim * dim);
    take(l.wk, layers * kv_dim * dim);
    take(l.wv, layers * kv_dim * dim);
    take(l.wo, layers * dim * dim);
    take(l.rms_ffn, layers * dim);
    take(l.w1, layers * hidden * dim);
    take(l.w2, layers * dim * hidden);
    take(l.w3, layers * hidden * dim);
    take(l.rms_final, dim);
    take(l.freq_cis, static_cast<uint64_t>(h.seq_len) * head);  // real and imag halves
  } else {
    take(l.rms_att, layers * dim);
    take(l.rms_ffn, layers * dim);
    take(l.rms_final, dim);
    take(l.token_embd, vocab * dim);
    take(l.wq, layers * dim * dim);
    take(l.wk, layers * kv_dim * dim);
    take(l.wv, layers * kv_dim * dim);
    take(l.wo, layers * dim * dim);
    take(l.w1, layers * hidden * dim);
    take(l.w2, layers * dim * hidden);
    take(l.w3, layers * hidden * dim);
  }
  if (!h.shared_classifier) take(l.wcls, vocab * dim);
  l.end = at;
  return l;
}

}  // namespace

uint64_t Header::file_bytes() const {
  return layout_of(*this).end;
}

Header parse_header(std::span<const std::byte> bytes, const std::string& path) {
  ByteReader r(bytes, path);
  Header h;
  if (bytes.size() >= 4 && r.read<uint32_t>("magic") == kMagicV1) {
    h.version = r.read<int32_t>("version");
    if (h.version == 2) {
      fail_unsupported(
          "{}: llama2.c version 2 (int8 Q8_0 export) is not supported; export "
          "with version 0 or 1 (float32)",
          path);
    }
    if (h.version != 1) fail_unsupported("{}: unknown llama2.c version {}", path, h.version);
    h.header_bytes = 256;
  } else {
    r.seek(0, "header");
  }
  h.dim = r.read<int32_t>("dim");
  h.hidden_dim = r.read<int32_t>("hidden_dim");
  h.n_layers = r.read<int32_t>("n_layers");
  h.n_heads = r.read<int32_t>("n_heads");
  h.n_kv_heads = r.read<int32_t>("n_kv_heads");
  const int32_t vocab = r.read<int32_t>("vocab_size");
  h.seq_len = r.read<int32_t>("seq_len");
  if (h.version == 0) {
    // The legacy format stores "separate classifier" as a negative vocab size.
    if (vocab == std::numeric_limits<int32_t>::min()) {
      fail_invalid("{}: header field vocab_size = {}: expected 1..{}", path, vocab, kMaxVocab);
    }
    h.shared_classifier = vocab > 0;
    h.vocab_size = vocab < 0 ? -vocab : vocab;
  } else {
    h.vocab_size = vocab;
    const auto shared = r.read<uint8_t>("shared_classifier");
    if (shared > 1) {
      fail_invalid("{}: header field shared_classifier at offset 36 = {}: expected 0 or 1", path,
                   shared);
    }
    h.shared_classifier = shared == 1;
    r.need(h.header_bytes - r.offset(), "header padding");
  }
  check_range(path, "dim", h.dim, kMaxDim);
  check_range(path, "hidden_dim", h.hidden_dim, kMaxHidden);
  check_range(path, "n_layers", h.n_layers, kMaxLayers);
  check_range(path, "n_heads", h.n_heads, h.dim);
  check_range(path, "n_kv_heads", h.n_kv_heads, h.n_heads);
  check_range(path, "vocab_size", h.vocab_size, kMaxVocab);
  check_range(path, "seq_len", h.seq_len, kMaxSeqLen);
  if (h.dim % h.n_heads != 0) {
    fail_invalid("{}: n_heads {} does not divide dim {}", path, h.n_heads, h.dim);
  }
  if (h.n_heads % h.n_kv_heads != 0) {
    fail_invalid("{}: n_kv_heads {} does not divide n_heads {}", path, h.n_kv_heads, h.n_heads);
  }
  if (h.head_dim() % 2 != 0) {
    fail_invalid("{}: head size {} (dim {} / n_heads {}) must be even for RoPE", path, h.head_dim(),
                 h.dim, h.n_heads);
  }
  return h;
}

Model parse(std::span<const std::byte> bytes, std::string path, std::shared_ptr<const void> owner) {
  const Header h = parse_header(bytes, path);
  const Layout l = layout_of(h);
  if (l.end != bytes.size()) {
    fail_invalid(
        "{}: the header (dim {}, hidden_dim {}, n_layers {}, n_heads {}, n_kv_heads {}, "
        "vocab {}, seq_len {}, {} classifier) implies {} bytes, the file has {}",
        path, h.dim, h.hidden_dim, h.n_layers, h.n_heads, h.n_kv_heads, h.vocab_size, h.seq_len,
        h.shared_classifier ? "shared" : "separate", l.end, bytes.size());
  }

  Model model;
  model.source.format = "llama2c";
  model.source.path = path;
  model.source.metadata = nlohmann::ordered_json{{"version", h.version},
                                                 {"dim", h.dim},
                                                 {"hidden_dim", h.hidden_dim},
                                                 {"n_layers", h.n_layers},
                                                 {"n_heads", h.n_heads},
                                                 {"n_kv_heads", h.n_kv_heads},
                                                 {"vocab_size", h.vocab_size},
                                                 {"seq_len", h.seq_len},
                                                 {"shared_classifier", h.shared_classifier}};

  ModelConfig& c = model.config;
  c.arch = "llama";
  c.name = std::filesystem::path(path).stem().string();
  c.vocab_size = h.vocab_size;
  c.n_embd = h.dim;
  c.n_layer = h.n_layers;
  c.n_head = h.n_heads;
  c.n_head_kv = h.n_kv_heads;
  c.head_dim = h.head_dim();
  c.n_ff = h.hidden_dim;
  c.context_length = h.seq_len;
  c.norm = NormKind::rms_norm;
  c.norm_eps = 1e-5;  // llama2.c's rmsnorm hard-codes it
  c.activation = Activation::silu;
  c.gated_ffn = true;
  c.rope.style = RopeStyle::normal;  // run.c rotates adjacent pairs
  c.rope.n_dims = h.head_dim();
  c.rope.freq_base = 10000.0;
  c.rope.freq_base_local = 10000.0;
  c.layer_attention.assign(static_cast<size_t>(h.n_layers), AttentionKind::global);
  c.tied_embeddings = h.shared_classifier;
  c.bos_id = 1;  // run.c hard-codes BOS 1 and EOS 2, as does llama.cpp's converter
  c.eos_id = 2;

  const int64_t dim = h.dim;
  const int64_t hidden = h.hidden_dim;
  const int64_t vocab = h.vocab_size;
  const int64_t kv_dim = h.kv_dim();
  auto view = [&](std::string name, Shape shape, uint64_t base, int64_t layer) {
    uint64_t n = 1;
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    const uint64_t n_bytes = n * sizeof(float);
    const uint64_t at = base + static_cast<uint64_t>(layer) * n_bytes;
    model.add(Tensor(std::move(name), DType::F32, std::move(shape), bytes.data() + at,
                     static_cast<size_t>(n_bytes), owner));
  };
  view("token_embd.weight", {vocab, dim}, l.token_embd, 0);
  view("output_norm.weight", {dim}, l.rms_final, 0);
  if (!h.shared_classifier) view("output.weight", {vocab, dim}, l.wcls, 0);
  for (int64_t i = 0; i < h.n_layers; ++i) {
    const std::string blk = "blk." + std::to_string(i) + ".";
    view(blk + "attn_q.weight", {dim, dim}, l.wq, i);
    view(blk + "attn_k.weight", {kv_dim, dim}, l.wk, i);
    view(blk + "attn_v.weight", {kv_dim, dim}, l.wv, i);
    view(blk + "attn_output.weight", {dim, dim}, l.wo, i);
    view(blk + "attn_norm.weight", {dim}, l.rms_att, i);
    view(blk + "ffn_gate.weight", {hidden, dim}, l.w1, i);
    view(blk + "ffn_down.weight", {dim, hidden}, l.w2, i);
    view(blk + "ffn_up.weight", {hidden, dim}, l.w3, i);
    view(blk + "ffn_norm.weight", {dim}, l.rms_ffn, i);
  }
  return model;
}

Model read_file(const std::filesystem::path& path) {
  auto mapped = MappedFile::open(path);
  auto span = mapped->bytes();
  return parse(span, path.string(), std::shared_ptr<const void>(mapped, mapped.get()));
}

bool looks_like_checkpoint(std::span<const std::byte> bytes) {
  try {
    return parse_header(bytes, "").file_bytes() == bytes.size();
  } catch (const Error&) {
    return false;
  }
}

}  // namespace slmkit::llama2c

namespace slmkit {

namespace fs = std::filesystem;

Model model_from_llama2c(const fs::path& path, const LoadOptions& options) {
  Model m = llama2c::read_file(path);
  fs::path tokenizer = options.llama2c_tokenizer;
  if (tokenizer.empty()) {
    const fs::path dir = path.parent_path();
    for (const std::string& name :
         {std::string("tokenizer.bin"), "tok" + std::to_string(m.config.vocab_size) + ".bin"}) {
      if (fs::is_regular_file(dir / name)) tokenizer = dir / name;
    }
  }
  if (!tokenizer.empty()) {
    m.vocab = llama2c::read_tokenizer(tokenizer, m.config.vocab_size);
    m.config.bos_id = m.vocab.bos_id;
    m.config.eos_id = m.vocab.eos_id;
  }
  arch::check_model(m, path.string());
  return m;
}

}  // namespace slmkit
