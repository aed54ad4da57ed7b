// Engine: binds the tensors a config implies to the decoder's weight slots, checking presence,
// shape and storage type once, so the forward pass never has to.
#include <algorithm>
#include <cmath>

#include "arch/arch.h"
#include "core/fail.h"
#include "core/mapped_file.h"
#include "engine/engine_impl.h"
#include "kernels/quant_kernels.h"
#include "slmkit/quantize.h"

namespace slmkit {
namespace {

using engine::Linear;
using engine::Norm;

class Binder {
 public:
  Binder(Engine::Impl& e) : e_(e), m_(e.model) {}

  const Tensor* find(const std::string& name) const { return m_.find(name); }

  const Tensor& require(const std::string& name, const char* what) const {
    const Tensor* t = m_.find(name);
    if (!t) {
      fail_invalid("{}: tensor '{}' ({}) is missing; the {} config needs it", e_.where, name, what,
                   m_.config.arch);
    }
    return *t;
  }

  void expect_shape(const Tensor& t, const Shape& shape, const char* what) const {
    if (t.shape() != shape) {
      fail_invalid("{}: tensor '{}' has shape {}, expected {} ({})", e_.where, t.name(),
                   shape_string(t.shape()), shape_string(shape), what);
    }
  }

  Linear matrix(const Tensor& t, int64_t rows, int64_t cols, const char* what) const {
    expect_shape(t, {rows, cols}, what);
    Linear lin;
    lin.name = t.name();
    lin.kernels = kernels::find_weight_kernels(t.dtype());
    if (!lin.kernels) {
      fail_unsupported("{}: tensor '{}' is stored as {}; the engine runs {} weights", e_.where,
                       t.name(), dtype_name(t.dtype()), kernels::weight_type_names());
    }
    const auto row_bytes = row_bytes_of(t.dtype(), cols, t.name());
    lin.w = kernels::MatrixRef{t.dtype(), t.data(), rows, cols, static_cast<int64_t>(row_bytes)};
    // Kernels that read several rows interleaved get their own copy once, here.
    if (const size_t bytes = kernels::packed_bytes(lin.w)) {
      PageBuffer& copy = e_.packed.emplace_back(bytes);
      // The packed copy serves the matmuls from now on: the file's pages of the rows are handed
      // back (re-read from the file should a row outside the packed groups be read), a slice at
      // a time, so a repacked model is not held twice even while its largest matrix is packed.
      const int64_t group = kernels::packed_group_rows(lin.w);
      const int64_t slice = group * 256;
      const int64_t packed_rows = rows / group * group;
      size_t done = 0;
      for (int64_t r0 = 0; r0 < packed_rows; r0 += slice) {
        kernels::MatrixRef part = lin.w;
        part.data = lin.w.row(r0);
        part.rows = std::min(slice, packed_rows - r0);
        kernels::pack_matrix(part, copy.data() + done);
        done += kernels::packed_bytes(part);
        release_mapped_pages({part.data, static_cast<size_t>(part.rows) * row_bytes});
      }
      if (done != bytes) fail(ErrorKind::internal, "engine: packed {} of {} bytes", done, bytes);
      lin.w.packed = copy.data();
      release_mapped_pages(t.bytes());
    }
    return lin;
  }

  Linear linear(const std::string& prefix, int64_t rows, int64_t cols, bool bias_required,
                const char* what) {
    Linear lin = matrix(require(prefix + ".weight", what), rows, cols, what);
    const Tensor* b = find(prefix + ".bias");
    if (!b && bias_required) require(prefix + ".bias", "bias");
    if (b) lin.bias = vector(*b, rows, 0.0f, "bias");
    return lin;
  }

  Linear optional_linear(const std::string& prefix, int64_t rows, int64_t cols, const char* what) {
    if (!find(prefix + ".weight")) return {};
    return linear(prefix, rows, cols, false, what);
  }

  Norm norm(const std::string& prefix, int64_t n, bool bias_required) {
    Norm nm;
    nm.weight = vector(require(prefix + ".weight", "norm weight"), n, m_.config.norm_weight_offset,
                       "norm weight");
    const Tensor* b = find(prefix + ".bias");
    if (!b && bias_required) require(prefix + ".bias", "norm bias");
    if (b) nm.bias = vector(*b, n, 0.0f, "norm bias");
    return nm;
  }

  // An f32 copy of a 1-D tensor of n elements, plus `offset` on every element.
  const float* vector(const Tensor& t, int64_t n, float offset, const char* what) {
    expect_shape(t, {n}, what);
    std::vector<float> v = dequantize(t);
    for (float& x : v) x += offset;
    e_.owned.push_back(std::move(v));
    return e_.owned.back().data();
  }

 private:
  uint64_t row_bytes_of(DType type, int64_t cols, const std::string& name) const {
    const auto bytes = row_bytes(type, static_cast<uint64_t>(cols));
    if (!bytes) {
      fail_invalid("{}: tensor '{}': {} columns are not a whole number of {} blocks", e_.where,
                   name, cols, dtype_name(type));
    }
    return *bytes;
  }

  Engine::Impl& e_;
  const Model& m_;
};

}  // namespace

Engine::Impl::Impl(Model m) : model(std::move(m)) {
  const ModelConfig& c = model.config;
  where = model.source.path.empty() ? (c.name.empty() ? std::string("model") : c.name)
                                    : model.source.path.string();
  arch::check_model(model, where);  // config consistency, every tensor's presence and shape
  n_embd = c.n_embd;
  n_head = c.n_head;
  n_head_kv = c.n_head_kv;
  head_dim = c.head_dim;
  n_rep = n_head / n_head_kv;
  q_dim = n_head * head_dim;
  kv_dim = n_head_kv * head_dim;
  n_ff = c.n_ff;
  n_vocab = c.vocab_size;
  rope_dims = c.rope.style == RopeStyle::none ? 0 : (c.rope.n_dims > 0 ? c.rope.n_dims : head_dim);
  attn_scale = c.attn_scale > 0
                   ? static_cast<float>(c.attn_scale)
                   : static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));

  Binder b(*this);
  token_embd = b.matrix(b.require("token_embd.weight", "token embeddings"), n_vocab, n_embd,
                        "vocab_size, n_embd");
  if (c.learned_positions) {
    const Tensor& pos = b.require("position_embd.weight", "learned positions");
    if (pos.rank() != 2) b.expect_shape(pos, {c.context_length, n_embd}, "n_ctx_train, n_embd");
    max_positions = pos.dim(0);
    position_embd = b.matrix(pos, max_positions, n_embd, "n_ctx_train, n_embd");
  }
  const bool layer_norm = c.norm == NormKind::layer_norm;
  const bool norm_bias = c.norm_bias;
  const bool fused = c.fused_qkv || b.find("blk.0.attn_qkv.weight");
  layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    engine::LayerWeights& L = layers[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    L.attn_norm = b.norm(p + "attn_norm", n_embd, norm_bias && layer_norm);
    if (fused) {
      L.qkv = b.linear(p + "attn_qkv", q_dim + 2 * kv_dim, n_embd, c.attn_qkv_bias,
                       "(n_head + 2 n_head_kv) * head_dim, n_embd");
    } else {
      L.q = b.linear(p + "attn_q", q_dim, n_embd, c.attn_qkv_bias, "n_head * head_dim, n_embd");
      L.k = b.linear(p + "attn_k", kv_dim, n_embd, c.attn_qkv_bias, "n_head_kv * head_dim, n_embd");
      L.v = b.linear(p + "attn_v", kv_dim, n_embd, c.attn_qkv_bias, "n_head_kv * head_dim, n_embd");
    }
    if (c.qk_norm) {
      L.q_norm = b.norm(p + "attn_q_norm", head_dim, false).weight;
      L.k_norm = b.norm(p + "attn_k_norm", head_dim, false).weight;
    }
    L.attn_output =
        b.linear(p + "attn_output", n_embd, q_dim, c.attn_out_bias, "n_embd, n_head * head_dim");
    if (c.sandwich_norm) {
      L.post_attention_norm = b.norm(p + "post_attention_norm", n_embd, false);
      L.post_ffw_norm = b.norm(p + "post_ffw_norm", n_embd, false);
    }
    L.ffn_norm = b.norm(p + "ffn_norm", n_embd, norm_bias && layer_norm);
    if (c.gated_ffn) L.ffn_gate = b.linear(p + "ffn_gate", n_ff, n_embd, false, "n_ff, n_embd");
    L.ffn_up = b.linear(p + "ffn_up", n_ff, n_embd, c.ffn_bias, "n_ff, n_embd");
    L.ffn_down = b.linear(p + "ffn_down", n_embd, n_ff, c.ffn_bias, "n_embd, n_ff");
    L.sliding = !c.layer_attention.empty() &&
                c.layer_attention[static_cast<size_t>(l)] == AttentionKind::sliding;
  }
  output_norm = b.norm("output_norm", n_embd, norm_bias && layer_norm);
  if (b.find("output.weight")) {
    output = b.matrix(*b.find("output.weight"), n_vocab, n_embd, "vocab_size, n_embd");
  } else if (c.tied_embeddings) {
    output = token_embd;
  } else {
    b.require("output.weight", "output head (the config says it is not tied)");
  }
  if (const Tensor* f = b.find("rope_freqs.weight"); f && rope_dims > 0) {
    b.expect_shape(*f, {rope_dims / 2}, "rope n_dims / 2");
    rope_freq_factors = dequantize(*f);
  }
}

uint64_t Engine::Impl::allocated_weight_bytes() const {
  uint64_t bytes = rope_freq_factors.size() * sizeof(float);
  for (const std::vector<float>& v : owned) bytes += v.size() * sizeof(float);
  for (const PageBuffer& v : packed) bytes += v.size();
  return bytes;
}

Engine::Engine(Model model) : impl_(std::make_shared<const Impl>(std::move(model))) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

const Model& Engine::model() const {
  return impl_->model;
}
const ModelConfig& Engine::config() const {
  return impl_->model.config;
}

}  // namespace slmkit
