#include "formats/tensor_transforms.h"

#include <cmath>
#include <cstring>
#include <numbers>

#include "core/fail.h"
#include "core/half.h"

namespace slmkit {
namespace {

size_t element_bytes(const Tensor& t, const char* what) {
  const DTypeTraits& tr = traits(t.dtype());
  if (tr.block_size != 1) {
    fail_unsupported("tensor '{}': {} needs a plain element type, found {}", t.name(), what,
                     tr.name);
  }
  return tr.block_bytes;
}

std::vector<std::byte> from_f32(const std::vector<float>& v, DType to) {
  std::vector<std::byte> out(v.size() * (to == DType::F32 ? 4 : 2));
  for (size_t i = 0; i < v.size(); ++i) {
    if (to == DType::F32) {
      std::memcpy(out.data() + 4 * i, &v[i], 4);
    } else {
      const uint16_t h = to == DType::F16 ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  }
  return out;
}

}  // namespace

Tensor transpose_2d(const Tensor& t) {
  if (t.rank() != 2)
    fail_invalid("tensor '{}': cannot transpose shape {}", t.name(), shape_string(t.shape()));
  const size_t es = element_bytes(t, "transposing");
  const auto rows = static_cast<size_t>(t.dim(0));
  const auto cols = static_cast<size_t>(t.dim(1));
  std::vector<std::byte> out(t.n_bytes());
  const std::byte* in = t.data();
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c)
      std::memcpy(&out[(c * rows + r) * es], in + (r * cols + c) * es, es);
  }
  return Tensor::owned(t.name(), t.dtype(), {t.dim(1), t.dim(0)}, std::move(out));
}

Tensor permute_rope_rows(const Tensor& t, int64_t n_heads, RopeStyle from, RopeStyle to) {
  if (from == to) return t;
  if (from == RopeStyle::none || to == RopeStyle::none) {
    fail(ErrorKind::internal, "tensor '{}': no RoPE row order to convert", t.name());
  }
  const int64_t rows = t.dim(0);
  if (n_heads <= 0 || rows % n_heads != 0 || (rows / n_heads) % 2 != 0) {
    fail_invalid("tensor '{}': {} rows do not split into {} heads of even size", t.name(), rows,
                 n_heads);
  }
  const size_t row_bytes = t.n_bytes() / static_cast<size_t>(rows);
  const int64_t head_dim = rows / n_heads;
  const int64_t half = head_dim / 2;
  std::vector<std::byte> out(t.n_bytes());
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t j = 0; j < half; ++j) {
      for (int64_t i = 0; i < 2; ++i) {
        const int64_t neox_row = h * head_dim + i * half + j;  // rotate-half position
        const int64_t normal_row = h * head_dim + 2 * j + i;   // adjacent-pair position
        const int64_t src = from == RopeStyle::neox ? neox_row : normal_row;
        const int64_t dst = from == RopeStyle::neox ? normal_row : neox_row;
        std::memcpy(&out[static_cast<size_t>(dst) * row_bytes],
                    t.data() + static_cast<size_t>(src) * row_bytes, row_bytes);
      }
    }
  }
  return Tensor::owned(t.name(), t.dtype(), t.shape(), std::move(out));
}

Tensor add_to_elements(const Tensor& t, float offset) {
  std::vector<float> v = t.to_f32();
  for (float& x : v) x += offset;
  return Tensor::owned(t.name(), t.dtype(), t.shape(), from_f32(v, t.dtype()));
}

Tensor convert_float(const Tensor& t, DType to) {
  if (to != DType::F32 && to != DType::F16 && to != DType::BF16) {
    fail_unsupported("converting tensor '{}' to {} needs the quantization module", t.name(),
                     dtype_name(to));
  }
  if (t.dtype() == to) return t;
  return Tensor::owned(t.name(), to, t.shape(), from_f32(t.to_f32(), to));
}

Tensor llama3_rope_factors(const ModelConfig& c) {
  const RopeConfig& r = c.rope;
  const double low_wavelen = static_cast<double>(r.original_context_length) / r.low_freq_factor;
  const double high_wavelen = static_cast<double>(r.original_context_length) / r.high_freq_factor;
  std::vector<float> factors;
  for (int64_t i = 0; i < r.n_dims; i += 2) {
    // float32 like the converter's torch.arange(..., dtype=float32) computation
    const float freq = 1.0f / std::pow(static_cast<float>(r.freq_base),
                                       static_cast<float>(i) / static_cast<float>(r.n_dims));
    const double wavelen = 2 * std::numbers::pi / freq;
    double f;
    if (wavelen < high_wavelen) {
      f = 1.0;
    } else if (wavelen > low_wavelen) {
      f = r.scaling_factor;
    } else {
      const double smooth =
          (static_cast<double>(r.original_context_length) / wavelen - r.low_freq_factor) /
          (r.high_freq_factor - r.low_freq_factor);
      f = 1.0 / ((1 - smooth) / r.scaling_factor + smooth);
    }
    factors.push_back(static_cast<float>(f));
  }
  const auto n = static_cast<int64_t>(factors.size());
  return Tensor::owned("rope_freqs.weight", DType::F32, {n}, from_f32(factors, DType::F32));
}

void convert_conventions(Model& model, RopeStyle rope_style, float norm_weight_offset) {
  ModelConfig& c = model.config;
  const bool permute = c.rope.style != RopeStyle::none && rope_style != c.rope.style;
  const float delta = c.norm_weight_offset - norm_weight_offset;
  if (!permute && delta == 0.0f) return;
  std::vector<Tensor> tensors = model.tensors();
  for (Tensor& t : tensors) {
    const std::string& n = t.name();
    const bool is_q = n.ends_with(".attn_q.weight") || n.ends_with(".attn_q.bias");
    const bool is_k = n.ends_with(".attn_k.weight") || n.ends_with(".attn_k.bias");
    if (permute && (is_q || is_k)) {
      t = permute_rope_rows(t, is_q ? c.n_head : c.n_head_kv, c.rope.style, rope_style);
    }
    if (delta != 0.0f && n.ends_with("norm.weight")) t = add_to_elements(t, delta);
  }
  Model converted;
  converted.config = c;
  converted.vocab = model.vocab;
  converted.source = model.source;
  for (Tensor& t : tensors) converted.add(std::move(t));
  if (permute) converted.config.rope.style = rope_style;
  converted.config.norm_weight_offset = norm_weight_offset;
  model = std::move(converted);
}

}  // namespace slmkit
