// Shapes below: B batch, S new tokens, P past tokens, T = P + S keys, E n_embd, H query heads,
// G key/value heads, R = H / G query heads per KV head, D head_dim, F n_ff, V vocab.
#include "export/onnx/decoder_graph.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/fail.h"
#include "core/half.h"
#include "export/onnx/graph_builder.h"
#include "slmkit/quantize.h"

namespace slmkit::onnx_export {
namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int32_t kFloat16 = onnx::TensorProto::FLOAT16;
constexpr int32_t kInt64 = onnx::TensorProto::INT64;
constexpr int32_t kBool = onnx::TensorProto::BOOL;

class DecoderBuilder {
 public:
  DecoderBuilder(const Model& model, const OnnxGraphOptions& options)
      : m_(model),
        c_(model.config),
        o_(options),
        g_(model.config.name.empty() ? "decoder" : model.config.name),
        ct_(options.precision == OnnxPrecision::fp16 || options.precision == OnnxPrecision::q4f16
                ? kFloat16
                : kFloat) {
    H_ = c_.n_head;
    G_ = c_.n_head_kv > 0 ? c_.n_head_kv : c_.n_head;
    D_ = c_.head_dim > 0 ? c_.head_dim : c_.n_embd / c_.n_head;
    R_ = H_ / G_;
    rope_dims_ = c_.rope.style == RopeStyle::none ? 0 : (c_.rope.n_dims > 0 ? c_.rope.n_dims : D_);
    if (o_.variant == OnnxVariant::prefill || o_.variant == OnnxVariant::decode) {
      L_ = static_cache_length(c_, o_.max_length);
    }
  }

  onnx::ModelProto build();

 private:
  // --- weights -------------------------------------------------------------------------------
  std::vector<float> floats(const std::string& name) const {
    const Tensor& t = m_.get(name);
    if (t.dtype() != DType::F32 && t.dtype() != DType::F16 && t.dtype() != DType::BF16) {
      fail_unsupported(
          "ONNX export: tensor {} is stored as {}; only F32, F16 and BF16 weights "
          "can be exported (dequantize the model first)",
          name, dtype_name(t.dtype()));
    }
    return dequantize(t);
  }
  std::string init(const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& v) {
    if (ct_ == kFloat16) {
      std::vector<uint16_t> h(v.size());
      for (size_t i = 0; i < v.size(); ++i) h[i] = f32_to_f16(v[i]);
      return g_.weight_f16(name, dims, h);
    }
    return g_.weight_f32(name, dims, v);
  }
  // Rows of a [out, in] matrix (or entries of a bias) reordered per head so that RoPE "normal"
  // (adjacent pairs) becomes "neox" (halves): q.k is unchanged when q and k share the order.
  std::vector<int64_t> head_permutation(int64_t n_heads) const {
    std::vector<int64_t> perm(static_cast<size_t>(n_heads * D_));
    const int64_t half = rope_dims_ / 2;
    for (int64_t h = 0; h < n_heads; ++h) {
      for (int64_t j = 0; j < D_; ++j) {
        int64_t src = j;
        if (j < half) {
          src = 2 * j;
        } else if (j < rope_dims_) {
          src = 2 * (j - half) + 1;
        }
        perm[static_cast<size_t>(h * D_ + j)] = h * D_ + src;
      }
    }
    return perm;
  }
  bool permute_rope() const { return c_.rope.style == RopeStyle::normal && rope_dims_ > 0; }

  // y = x W^T (+ b) for a [out, in] matrix; rows [row0, row0 + n_rows) only (fused QKV), in the
  // order `perm` (relative row indices) when given.
  std::string linear(const std::string& x, const std::string& wname, const std::string& bname,
                     int64_t row0, int64_t n_rows, const std::vector<int64_t>& perm = {}) {
    const Tensor& t = m_.get(wname);
    const int64_t in = t.dim(1);
    const std::vector<float> w = floats(wname);
    std::vector<float> wt(static_cast<size_t>(in * n_rows));  // [in, n_rows]
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t src = row0 + (perm.empty() ? r : perm[static_cast<size_t>(r)]);
      for (int64_t i = 0; i < in; ++i) {
        wt[static_cast<size_t>(i * n_rows + r)] = w[static_cast<size_t>(src * in + i)];
      }
    }
    const std::string suffix = row0 > 0 || n_rows != t.dim(0) ? fmt::format(".{}", row0) : "";
    std::string y;
    if (o_.precision == OnnxPrecision::int8 || o_.precision == OnnxPrecision::w8a8) {
      y = matmul_int8(x, wname, suffix, wt, in, n_rows);
    } else if (o_.precision == OnnxPrecision::q4 || o_.precision == OnnxPrecision::q4f16) {
      y = matmul_q4(x, wname + suffix, wt, in, n_rows);
    } else {
      y = g_.op("MatMul", {x, init(wname + suffix + ".T", {in, n_rows}, wt)});
    }
    if (!bname.empty() && m_.find(bname)) {
      const std::vector<float> b = floats(bname);
      std::vector<float> bs(static_cast<size_t>(n_rows));
      for (int64_t r = 0; r < n_rows; ++r) {
        bs[static_cast<size_t>(r)] =
            b[static_cast<size_t>(row0 + (perm.empty() ? r : perm[static_cast<size_t>(r)]))];
      }
      y = g_.op("Add", {y, init(bname + suffix, {n_rows}, bs)});
    }
    return y;
  }

  std::string scalar(float v) { return g_.const_float(v, ct_); }

  // x [.., K] times wt [K, N] as com.microsoft MatMulNBits: B [N, K / block, block / 2] 4-bit
  // values (low nibble first) per output row, one scale per block, zero point 8 when symmetric
  // or 4-bit zero points packed two blocks a byte. A last partial block is padded with zeros.
  // The initializers of a MatMulNBits weight: packed 4-bit values [N, blocks, block / 2], scales
  // [N * blocks] and, asymmetric, zero points [N * ceil(blocks / 2)]; row n holds output n's
  // weights along K, so an embedding table [V, E] quantizes as N = V, K = E.
  struct Q4Weights {
    std::string data, scales, zero_points;  // zero_points empty when symmetric
    int64_t K = 0, N = 0, n_blocks = 0;
  };

  Q4Weights q4_weights(const std::string& name, const std::vector<float>& wt, int64_t K,
                       int64_t N) {
    const int64_t bs = o_.q4_block_size;
    const int64_t n_blocks = (K + bs - 1) / bs;
    std::string packed(static_cast<size_t>(N * n_blocks * bs / 2), '\0');
    std::vector<float> scales(static_cast<size_t>(N * n_blocks));
    const int64_t zp_row = (n_blocks + 1) / 2;
    std::string zps(static_cast<size_t>(N * zp_row), '\0');
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t b = 0; b < n_blocks; ++b) {
        const int64_t k0 = b * bs, k1 = std::min(K, k0 + bs);
        float lo = 0.0f, hi = 0.0f, amax = 0.0f, signed_max = 0.0f;
        for (int64_t k = k0; k < k1; ++k) {
          const float v = wt[static_cast<size_t>(k * N + n)];
          lo = std::min(lo, v);
          hi = std::max(hi, v);
          if (std::fabs(v) > amax) {
            amax = std::fabs(v);
            signed_max = v;
          }
        }
        float scale = 0.0f;
        int zp = 8;
        if (o_.q4_symmetric) {
          // ONNX Runtime's MatMul4BitsQuantizer (MLAS range2scale): the largest-magnitude weight
          // maps to level -8, so the block uses all 16 levels (a step of amax / 8, not / 7); the
          // scale is negative when that weight is positive.
          scale = signed_max / -8.0f;
        } else {
          scale = (hi - lo) / 15.0f;
          zp = scale > 0 ? static_cast<int>(std::clamp(std::nearbyint(-lo / scale), 0.0f, 15.0f))
                         : 8;
          const size_t zi = static_cast<size_t>(n * zp_row + b / 2);
          zps[zi] = static_cast<char>(static_cast<uint8_t>(zps[zi]) | (zp << (4 * (b % 2))));
        }
        scales[static_cast<size_t>(n * n_blocks + b)] = scale;
        const float inv = scale != 0 ? 1.0f / scale : 0.0f;
        for (int64_t k = k0; k < k0 + bs; ++k) {
          const float v = k < k1 ? wt[static_cast<size_t>(k * N + n)] : 0.0f;
          const int q = static_cast<int>(
              std::clamp(std::nearbyint(v * inv) + static_cast<float>(zp), 0.0f, 15.0f));
          const size_t byte = static_cast<size_t>((n * n_blocks + b) * (bs / 2) + (k - k0) / 2);
          packed[byte] =
              static_cast<char>(static_cast<uint8_t>(packed[byte]) | (q << (4 * ((k - k0) % 2))));
        }
      }
    }
    Q4Weights q;
    q.K = K;
    q.N = N;
    q.n_blocks = n_blocks;
    q.data = g_.weight_raw(name + ".q4", onnx::TensorProto::UINT8, {N, n_blocks, bs / 2},
                           std::move(packed));
    q.scales = init(name + ".q4_scales", {N * n_blocks}, scales);
    if (!o_.q4_symmetric) {
      q.zero_points = g_.weight_raw(name + ".q4_zero_points", onnx::TensorProto::UINT8,
                                    {N * zp_row}, std::move(zps));
    }
    return q;
  }

  std::string matmul_q4(const std::string& x, const Q4Weights& q) {
    std::vector<std::string> inputs = {x, q.data, q.scales};
    if (!q.zero_points.empty()) inputs.push_back(q.zero_points);
    uses_ms_ = true;
    return g_.op("MatMulNBits", inputs,
                 {{"K", q.K},
                  {"N", q.N},
                  {"bits", int64_t{4}},
                  {"block_size", o_.q4_block_size},
                  {"accuracy_level", o_.q4_accuracy_level}},
                 "com.microsoft");
  }

  std::string matmul_q4(const std::string& x, const std::string& name, const std::vector<float>& wt,
                        int64_t K, int64_t N) {
    return matmul_q4(x, q4_weights(name, wt, K, N));
  }

  // input_ids -> embeddings [B, S, E] through com.microsoft GatherBlockQuantized (4-bit uint8
  // data, gather_axis 0, quantize_axis last). It reads the MatMulNBits initializers of the table
  // through Reshapes, so a tied output head (a MatMulNBits on the same initializers) stores the
  // table once. A padded last block is sliced off.
  std::string gather_q4(const Q4Weights& q) {
    const int64_t bs = o_.q4_block_size;
    const int64_t V = q.N, E = q.K;
    std::vector<std::string> inputs = {
        g_.op("Reshape", {q.data, g_.const_i64({V, q.n_blocks * bs / 2})}), "input_ids",
        g_.op("Reshape", {q.scales, g_.const_i64({V, q.n_blocks})})};
    if (!q.zero_points.empty()) {
      inputs.push_back(g_.op("Reshape", {q.zero_points, g_.const_i64({V, (q.n_blocks + 1) / 2})}));
    }
    uses_ms_ = true;
    std::string x = g_.op("GatherBlockQuantized", inputs,
                          {{"gather_axis", int64_t{0}},
                           {"quantize_axis", int64_t{1}},
                           {"block_size", bs},
                           {"bits", int64_t{4}}},
                          "com.microsoft");
    if (q.n_blocks * bs != E) {
      x = g_.op("Slice", {x, g_.const_i64({0}), g_.const_i64({E}), g_.const_i64({-1})});
    }
    return x;
  }

  // x [.., in] times wt [in, n] with ONNX Runtime quantize_dynamic's scheme: activations
  // quantized per call to uint8 (DynamicQuantizeLinear), weights to symmetric 8-bit values with
  // one scale per output column (or one per tensor), stored as o_.int8_weights says (uint8 with
  // zero point 128, or int8 with zero point 0), int32 accumulation, one rescale. w8a8: the
  // activations quantized with a constant scale from calibration instead (zero point 128, so that
  // both operands are uint8 and ONNX Runtime's exact U8U8 kernels run), and the rescale is one
  // constant.
  std::string matmul_int8(const std::string& x, const std::string& matrix,
                          const std::string& suffix, const std::vector<float>& wt, int64_t in,
                          int64_t n) {
    const std::string name = matrix + suffix;
    const bool unsigned_weights = o_.int8_weights == OnnxInt8Weights::u8;
    const float qmax = o_.int8_weights == OnnxInt8Weights::s8_reduced ? 63.0f : 127.0f;
    std::vector<float> scale(static_cast<size_t>(o_.int8_per_channel ? n : 1), 0.0f);
    for (int64_t i = 0; i < in; ++i) {
      for (int64_t r = 0; r < n; ++r) {
        float& s = scale[static_cast<size_t>(o_.int8_per_channel ? r : 0)];
        s = std::max(s, std::fabs(wt[static_cast<size_t>(i * n + r)]));
      }
    }
    for (float& s : scale) s = s > 0 ? s / qmax : 1.0f;
    // The same levels -qmax..qmax either way; uint8 stores them offset by the zero point 128.
    const int zero_point = unsigned_weights ? 128 : 0;
    std::string q(static_cast<size_t>(in * n), '\0');
    for (int64_t i = 0; i < in; ++i) {
      for (int64_t r = 0; r < n; ++r) {
        const size_t k = static_cast<size_t>(i * n + r);
        const float s = scale[static_cast<size_t>(o_.int8_per_channel ? r : 0)];
        const int v = static_cast<int>(std::clamp(std::nearbyint(wt[k] / s), -qmax, qmax));
        q[k] = static_cast<char>(static_cast<uint8_t>(v + zero_point));
      }
    }
    const int32_t type = unsigned_weights ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8;
    const std::string wq = g_.weight_raw(name + ".T_quantized", type, {in, n}, std::move(q));
    const std::vector<int64_t> sdims =
        o_.int8_per_channel ? std::vector<int64_t>{n} : std::vector<int64_t>{};
    const std::string wz = g_.weight_raw(
        name + ".T_zero_point", type, sdims,
        std::string(scale.size(), static_cast<char>(static_cast<uint8_t>(zero_point))));
    if (o_.precision == OnnxPrecision::w8a8) {
      const auto it = o_.w8a8_input_max.find(matrix);
      if (it == o_.w8a8_input_max.end() || !(it->second >= 0) || !std::isfinite(it->second)) {
        fail_invalid("ONNX export w8a8: no calibration range for {}'s input", matrix);
      }
      const float x_scale = it->second > 0 ? it->second / 127.0f : 1.0f;
      const std::string xs = g_.weight_f32(name + ".input_scale", {}, std::vector<float>{x_scale});
      const std::string xz = g_.weight_raw(name + ".input_zero_point", onnx::TensorProto::UINT8, {},
                                           std::string(1, static_cast<char>(128)));
      const std::string xq = g_.op("QuantizeLinear", {x, xs, xz});
      std::vector<float> rescale(scale);
      for (float& s : rescale) s *= x_scale;
      const std::string acc = g_.op("MatMulInteger", {xq, wq, xz, wz});
      const std::string yf = g_.op("Cast", {acc}, {{"to", int64_t{kFloat}}});
      return g_.op("Mul", {yf, g_.weight_f32(name + ".output_scale", sdims, rescale)});
    }
    const std::string ws = g_.weight_f32(name + ".T_scale", sdims, scale);
    const auto xq = g_.op_n("DynamicQuantizeLinear", {x}, 3);
    const std::string acc = g_.op("MatMulInteger", {xq[0], wq, xq[2], wz});
    const std::string yf = g_.op("Cast", {acc}, {{"to", int64_t{kFloat}}});
    return g_.op("Mul", {yf, g_.op("Mul", {xq[1], ws})});
  }

  // --- blocks --------------------------------------------------------------------------------
  std::string rms(const std::string& x, const std::string& weight_name, int64_t n,
                  const std::vector<int64_t>& perm = {}) {
    const std::string sq = g_.op("Mul", {x, x});
    const std::string mean = g_.op("ReduceMean", {sq}, {{"axes", std::vector<int64_t>{-1}}});
    const std::string inv =
        g_.op("Reciprocal",
              {g_.op("Sqrt", {g_.op("Add", {mean, scalar(static_cast<float>(c_.norm_eps))})})});
    const std::string y = g_.op("Mul", {x, inv});
    if (weight_name.empty()) return y;
    std::vector<float> w = floats(weight_name);
    for (float& v : w) v += c_.norm_weight_offset;
    if (!perm.empty()) {
      std::vector<float> p(w.size());
      for (size_t i = 0; i < p.size(); ++i) p[i] = w[static_cast<size_t>(perm[i])];
      w = p;
    }
    return g_.op("Mul", {y, init(weight_name, {n}, w)});
  }

  std::string norm(const std::string& x, const std::string& prefix) {
    const std::string wname = prefix + ".weight";
    if (c_.norm == NormKind::rms_norm) return rms(x, wname, c_.n_embd);
    std::vector<float> w = floats(wname);
    for (float& v : w) v += c_.norm_weight_offset;
    std::vector<std::string> in = {x, init(wname, {c_.n_embd}, w)};
    if (m_.find(prefix + ".bias"))
      in.push_back(init(prefix + ".bias", {c_.n_embd}, floats(prefix + ".bias")));
    return g_.op("LayerNormalization", in,
                 {{"axis", int64_t{-1}}, {"epsilon", static_cast<float>(c_.norm_eps)}});
  }

  // x [B, heads, S, D] rotated with cos/sin [B, 1, S, rope_dims/2], halves convention.
  std::string rope(const std::string& x, const std::string& cos, const std::string& sin) {
    const int64_t half = rope_dims_ / 2;
    auto slice = [&](int64_t b, int64_t e) {
      return g_.op("Slice", {x, g_.const_i64({b}), g_.const_i64({e}), g_.const_i64({3})});
    };
    const std::string x1 = slice(0, half), x2 = slice(half, rope_dims_);
    const std::string r1 = g_.op("Sub", {g_.op("Mul", {x1, cos}), g_.op("Mul", {x2, sin})});
    const std::string r2 = g_.op("Add", {g_.op("Mul", {x2, cos}), g_.op("Mul", {x1, sin})});
    std::vector<std::string> parts = {r1, r2};
    if (rope_dims_ < D_) parts.push_back(slice(rope_dims_, D_));
    return g_.op("Concat", parts, {{"axis", int64_t{3}}});
  }

  // cos and sin [B, 1, S, rope_dims/2] of the positions, for one frequency base.
  std::pair<std::string, std::string> rope_tables(const std::string& pos_f, bool local) {
    const int64_t half = rope_dims_ / 2;
    const auto base = static_cast<float>(local ? c_.rope.freq_base_local : c_.rope.freq_base);
    const float theta_scale = std::pow(base, -2.0f / static_cast<float>(rope_dims_));
    std::vector<float> inv(static_cast<size_t>(half));
    std::vector<float> factors;
    if (!local && rope_dims_ > 0) {
      if (const Tensor* f = m_.find("rope_freqs.weight")) factors = dequantize(*f);
    }
    float freq_scale = 1.0f;
    if (!local && c_.rope.scaling == RopeScaling::linear) {
      freq_scale = static_cast<float>(1.0 / c_.rope.scaling_factor);
    }
    float theta = 1.0f;
    for (int64_t i = 0; i < half; ++i) {
      float v = theta;
      if (static_cast<int64_t>(factors.size()) >= half) v /= factors[static_cast<size_t>(i)];
      inv[static_cast<size_t>(i)] = freq_scale * v;
      theta *= theta_scale;
    }
    // Angles in f32 even in fp16 graphs: positions times frequencies exceed f16's precision.
    const std::string inv_name =
        g_.weight_f32(local ? "rope.inv_freq_local" : "rope.inv_freq", {half}, inv);
    std::string angles = g_.op("Mul", {pos_f, inv_name});  // [B, S, half]
    angles = g_.op("Unsqueeze", {angles, g_.const_i64({1})});
    std::string cos = g_.op("Cos", {angles}), sin = g_.op("Sin", {angles});
    if (ct_ == kFloat16) {
      cos = g_.op("Cast", {cos}, {{"to", int64_t{kFloat16}}});
      sin = g_.op("Cast", {sin}, {{"to", int64_t{kFloat16}}});
    }
    return {cos, sin};
  }

  // Boolean mask [B, 1, 1, S, T]: key k visible to query q (positions kpos [T], qpos [S]).
  std::string attention_mask(const std::string& qpos, const std::string& kpos,
                             const std::string& key_mask, bool sliding) {
    const std::string q2 = g_.op("Unsqueeze", {qpos, g_.const_i64({1})});  // [S, 1]
    const std::string k2 = g_.op("Unsqueeze", {kpos, g_.const_i64({0})});  // [1, T]
    std::string allowed = g_.op("LessOrEqual", {k2, q2});
    if (sliding) {
      const std::string dist = g_.op("Sub", {q2, k2});
      allowed = g_.op("And", {allowed, g_.op("Less", {dist, g_.const_i64({c_.sliding_window})})});
    }
    const std::string pad = g_.op("Unsqueeze", {g_.op("Cast", {key_mask}, {{"to", int64_t{kBool}}}),
                                                g_.const_i64({1, 2, 3})});
    return g_.op("And", {allowed, pad});
  }

  // q [B, H, S, D], k and v [B, G, T, D] -> [B, S, H * D].
  std::string attend(const std::string& q, const std::string& k, const std::string& v,
                     const std::string& mask) {
    const std::string q5 = g_.op("Reshape", {q, g_.const_i64({0, G_, R_, -1, D_})});
    const std::string k5 = g_.op("Unsqueeze", {k, g_.const_i64({2})});
    const std::string v5 = g_.op("Unsqueeze", {v, g_.const_i64({2})});
    const std::string kt =
        g_.op("Transpose", {k5}, {{"perm", std::vector<int64_t>{0, 1, 2, 4, 3}}});
    const float scale = c_.attn_scale > 0 ? static_cast<float>(c_.attn_scale)
                                          : 1.0f / std::sqrt(static_cast<float>(D_));
    std::string s = g_.op("Mul", {g_.op("MatMul", {q5, kt}), scalar(scale)});  // [B,G,R,S,T]
    if (c_.attn_logit_softcap > 0) {
      const auto cap = static_cast<float>(c_.attn_logit_softcap);
      s = g_.op("Mul", {g_.op("Tanh", {g_.op("Div", {s, scalar(cap)})}), scalar(cap)});
    }
    s = g_.op("Where", {mask, s, scalar(ct_ == kFloat16 ? -65504.0f : -3.0e38f)});
    const std::string p = g_.op("Softmax", {s}, {{"axis", int64_t{-1}}});
    const std::string o5 = g_.op("MatMul", {p, v5});  // [B, G, R, S, D]
    const std::string o4 = g_.op("Reshape", {o5, g_.const_i64({0, H_, -1, D_})});
    const std::string ot = g_.op("Transpose", {o4}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
    return g_.op("Reshape", {ot, g_.const_i64({0, 0, H_ * D_})});
  }

  std::string activation(const std::string& x) {
    switch (c_.activation) {
      case Activation::silu:
        return g_.op("Mul", {x, g_.op("Sigmoid", {x})});
      case Activation::gelu_erf: {
        const std::string e =
            g_.op("Erf", {g_.op("Mul", {x, scalar(static_cast<float>(1.0 / std::sqrt(2.0)))})});
        return g_.op("Mul", {g_.op("Mul", {x, scalar(0.5f)}), g_.op("Add", {e, scalar(1.0f)})});
      }
      case Activation::gelu_tanh: {
        const std::string x3 = g_.op("Mul", {g_.op("Mul", {x, x}), x});
        const std::string inner =
            g_.op("Mul", {g_.op("Add", {x, g_.op("Mul", {x3, scalar(0.044715f)})}),
                          scalar(static_cast<float>(std::sqrt(2.0 / 3.14159265358979323846)))});
        return g_.op("Mul", {g_.op("Mul", {x, scalar(0.5f)}),
                             g_.op("Add", {g_.op("Tanh", {inner}), scalar(1.0f)})});
      }
    }
    fail(ErrorKind::internal, "ONNX export: unknown activation");
  }

  void declare_cache_io(int64_t layer, bool input) {
    const bool is_static = o_.variant == OnnxVariant::prefill || o_.variant == OnnxVariant::decode;
    const Dim len = is_static ? Dim{L_}
                    : input   ? Dim{std::string("past_sequence_length")}
                              : Dim{std::string("past_sequence_length + sequence_length")};
    const std::vector<Dim> dims = {std::string("batch_size"), G_, len, D_};
    for (const char* kind : {"key", "value"}) {
      const std::string name =
          fmt::format("{}.{}.{}", input ? "past_key_values" : "present", layer, kind);
      if (input) {
        g_.input(name, ct_, dims);
      } else {
        g_.output(name, ct_, dims);
      }
    }
  }

  const Model& m_;
  const ModelConfig& c_;
  OnnxGraphOptions o_;
  GraphBuilder g_;
  int32_t ct_;
  int64_t H_ = 0, G_ = 0, D_ = 0, R_ = 1, rope_dims_ = 0, L_ = 0;
  bool uses_ms_ = false;  // com.microsoft operators in the graph

  // --- build(), in order -------------------------------------------------------------------
  void declare_io();
  void masks();
  std::string embed();
  std::string layer(int64_t l, std::string x);
  onnx::ModelProto finish(std::string x);
  bool with_past_ = false, prefill_ = false, decode_ = false;
  std::string qpos_, kpos_;  // query and key positions
  bool any_sliding_ = false;
  std::string mask_global_, mask_local_;
  std::string embd_name_;  // the f32 token embedding; or, with q4_embedding, embd_q4_
  std::optional<Q4Weights> embd_q4_;
  std::pair<std::string, std::string> rope_global_, rope_local_;  // (cos, sin) tables
  std::string write_slot_;                                        // decode: where to write
  std::vector<int64_t> qperm_, kperm_, dperm_;  // q / k / QK-norm rows back to rotate-half order
};

onnx::ModelProto DecoderBuilder::build() {
  with_past_ = o_.variant == OnnxVariant::with_past;
  prefill_ = o_.variant == OnnxVariant::prefill;
  decode_ = o_.variant == OnnxVariant::decode;
  declare_io();
  masks();
  std::string x = embed();
  if (rope_dims_ > 0) {
    const std::string pos_f =
        g_.op("Unsqueeze",
              {g_.op("Cast", {"position_ids"}, {{"to", int64_t{kFloat}}}), g_.const_i64({-1})});
    rope_global_ = rope_tables(pos_f, false);
    if (any_sliding_) rope_local_ = rope_tables(pos_f, true);
  }
  if (decode_) {
    // [1, 1, L, 1]: true at cache_position.
    write_slot_ =
        g_.op("Unsqueeze", {g_.op("Equal", {kpos_, "cache_position"}), g_.const_i64({0, 1, 3})});
  }
  if (permute_rope()) {
    qperm_ = head_permutation(H_);
    kperm_ = head_permutation(G_);
    dperm_ = head_permutation(1);
  }
  for (int64_t l = 0; l < c_.n_layer; ++l) x = layer(l, x);
  return finish(x);
}

// The graph's inputs and outputs for the variant.
void DecoderBuilder::declare_io() {
  const std::string batch = "batch_size";
  const Dim seq = decode_ ? Dim{int64_t{1}} : Dim{std::string("sequence_length")};
  g_.input("input_ids", kInt64, {batch, seq});
  if (decode_) {
    g_.input("attention_mask", kInt64, {batch, L_});
  } else if (with_past_) {
    g_.input("attention_mask", kInt64,
             {batch, std::string("past_sequence_length + sequence_length")});
  } else {
    g_.input("attention_mask", kInt64, {batch, seq});
  }
  g_.input("position_ids", kInt64, {batch, seq});
  if (decode_) g_.input("cache_position", kInt64, {int64_t{1}});
  if (with_past_ || decode_) {
    for (int64_t l = 0; l < c_.n_layer; ++l) declare_cache_io(l, true);
  }
  g_.output("logits", kFloat, {batch, seq, c_.vocab_size});
  if (with_past_ || prefill_ || decode_) {
    for (int64_t l = 0; l < c_.n_layer; ++l) declare_cache_io(l, false);
  }
}

// Query and key positions, and the attention masks over them: keys are cache slots 0..T-1.
void DecoderBuilder::masks() {
  const std::string one = g_.const_i64({1}, true), zero = g_.const_i64({0}, true);
  if (decode_) {
    std::vector<int64_t> slots(static_cast<size_t>(L_));
    for (int64_t i = 0; i < L_; ++i) slots[static_cast<size_t>(i)] = i;
    kpos_ = g_.weight_raw(
        "cache_slots", kInt64, {L_},
        std::string(reinterpret_cast<const char*>(slots.data()), slots.size() * sizeof(int64_t)));
    qpos_ = "cache_position";
  } else {
    const std::string t_len =
        g_.op("Squeeze",
              {g_.op("Shape", {"attention_mask"}, {{"start", int64_t{1}}, {"end", int64_t{2}}}),
               g_.const_i64({0})});
    const std::string s_len = g_.op(
        "Squeeze", {g_.op("Shape", {"input_ids"}, {{"start", int64_t{1}}, {"end", int64_t{2}}}),
                    g_.const_i64({0})});
    kpos_ = g_.op("Range", {zero, t_len, one});
    qpos_ = g_.op("Range", {g_.op("Sub", {t_len, s_len}), t_len, one});
  }
  any_sliding_ = false;
  for (int64_t l = 0; l < c_.n_layer; ++l) {
    if (!c_.layer_attention.empty() &&
        c_.layer_attention[static_cast<size_t>(l)] == AttentionKind::sliding) {
      any_sliding_ = true;
    }
  }
  mask_global_ = attention_mask(qpos_, kpos_, "attention_mask", false);
  mask_local_ = any_sliding_ ? attention_mask(qpos_, kpos_, "attention_mask", true) : "";
}

// The token (and learned position) embeddings [B, S, E].
std::string DecoderBuilder::embed() {
  std::string x;
  if (o_.q4_embedding) {
    const std::vector<float> e = floats("token_embd.weight");  // [V, E]
    const int64_t V = c_.vocab_size, E = c_.n_embd;
    std::vector<float> et(e.size());  // [E, V]: q4_weights takes [K, N]
    for (int64_t v = 0; v < V; ++v) {
      for (int64_t i = 0; i < E; ++i) {
        et[static_cast<size_t>(i * V + v)] = e[static_cast<size_t>(v * E + i)];
      }
    }
    embd_q4_ = q4_weights("token_embd.weight", et, E, V);
    x = gather_q4(*embd_q4_);
  } else {
    embd_name_ = init("token_embd.weight", {c_.vocab_size, c_.n_embd}, floats("token_embd.weight"));
    x = g_.op("Gather", {embd_name_, "input_ids"});
  }
  if (c_.embed_scale != 1.0) x = g_.op("Mul", {x, scalar(static_cast<float>(c_.embed_scale))});
  if (c_.learned_positions) {
    const Tensor& pe = m_.get("position_embd.weight");
    x = g_.op("Add", {x, g_.op("Gather", {init("position_embd.weight", {pe.dim(0), pe.dim(1)},
                                               floats("position_embd.weight")),
                                          "position_ids"})});
  }
  return x;
}

// Block l: attention and feed-forward, each a residual branch.
std::string DecoderBuilder::layer(int64_t l, std::string x) {
  const std::string p = fmt::format("blk.{}.", l);
  const bool sliding = !c_.layer_attention.empty() &&
                       c_.layer_attention[static_cast<size_t>(l)] == AttentionKind::sliding;
  const std::string xn = norm(x, p + "attn_norm");
  std::string q, k, v;
  if (c_.fused_qkv) {
    const std::string w = p + "attn_qkv.weight", b = p + "attn_qkv.bias";
    q = linear(xn, w, b, 0, H_ * D_, qperm_);
    k = linear(xn, w, b, H_ * D_, G_ * D_, kperm_);
    v = linear(xn, w, b, (H_ + G_) * D_, G_ * D_);
  } else {
    q = linear(xn, p + "attn_q.weight", p + "attn_q.bias", 0, H_ * D_, qperm_);
    k = linear(xn, p + "attn_k.weight", p + "attn_k.bias", 0, G_ * D_, kperm_);
    v = linear(xn, p + "attn_v.weight", p + "attn_v.bias", 0, G_ * D_);
  }
  q = g_.op("Reshape", {q, g_.const_i64({0, 0, H_, D_})});
  k = g_.op("Reshape", {k, g_.const_i64({0, 0, G_, D_})});
  v = g_.op("Reshape", {v, g_.const_i64({0, 0, G_, D_})});
  if (c_.qk_norm) {
    q = rms(q, p + "attn_q_norm.weight", D_, dperm_);
    k = rms(k, p + "attn_k_norm.weight", D_, dperm_);
  }
  const std::vector<int64_t> to_heads = {0, 2, 1, 3};
  q = g_.op("Transpose", {q}, {{"perm", to_heads}});  // [B, H, S, D]
  k = g_.op("Transpose", {k}, {{"perm", to_heads}});  // [B, G, S, D]
  v = g_.op("Transpose", {v}, {{"perm", to_heads}});
  if (rope_dims_ > 0) {
    const auto& [cos, sin] = sliding ? rope_local_ : rope_global_;
    q = rope(q, cos, sin);
    k = rope(k, cos, sin);
  }
  const std::string past_k = fmt::format("past_key_values.{}.key", l);
  const std::string past_v = fmt::format("past_key_values.{}.value", l);
  const std::string present_k = fmt::format("present.{}.key", l);
  const std::string present_v = fmt::format("present.{}.value", l);
  std::string k_all = k, v_all = v;
  if (with_past_) {
    k_all = g_.op("Concat", {past_k, k}, {{"axis", int64_t{2}}});
    v_all = g_.op("Concat", {past_v, v}, {{"axis", int64_t{2}}});
    g_.rename(k_all, present_k);
    g_.rename(v_all, present_v);
  } else if (decode_) {
    k_all = g_.op("Where", {write_slot_, k, past_k});
    v_all = g_.op("Where", {write_slot_, v, past_v});
    g_.rename(k_all, present_k);
    g_.rename(v_all, present_v);
  } else if (prefill_) {
    // Pad the keys of the prompt to the fixed cache length: pads [0,0,0,0, 0,0,L-S,0].
    const std::string s_len =
        g_.op("Shape", {"input_ids"}, {{"start", int64_t{1}}, {"end", int64_t{2}}});
    const std::string rest = g_.op("Sub", {g_.const_i64({L_}), s_len});
    const std::string pads =
        g_.op("Concat", {g_.const_i64({0, 0, 0, 0, 0, 0}), rest, g_.const_i64({0})},
              {{"axis", int64_t{0}}});
    g_.rename(g_.op("Pad", {k, pads}), present_k);
    g_.rename(g_.op("Pad", {v, pads}), present_v);
  }
  std::string a = attend(q, k_all, v_all, sliding ? mask_local_ : mask_global_);
  a = linear(a, p + "attn_output.weight", p + "attn_output.bias", 0, c_.n_embd);
  if (m_.find(p + "post_attention_norm.weight")) a = norm(a, p + "post_attention_norm");
  x = g_.op("Add", {x, a});

  const std::string hn = norm(x, p + "ffn_norm");
  std::string f = activation(linear(hn, c_.gated_ffn ? p + "ffn_gate.weight" : p + "ffn_up.weight",
                                    c_.gated_ffn ? "" : p + "ffn_up.bias", 0, c_.n_ff));
  if (c_.gated_ffn)
    f = g_.op("Mul", {f, linear(hn, p + "ffn_up.weight", p + "ffn_up.bias", 0, c_.n_ff)});
  f = linear(f, p + "ffn_down.weight", p + "ffn_down.bias", 0, c_.n_embd);
  if (m_.find(p + "post_ffw_norm.weight")) f = norm(f, p + "post_ffw_norm");
  x = g_.op("Add", {x, f});

  return x;
}

// The final norm and the head: logits [B, S, V] in f32, soft-capped where the family does.
onnx::ModelProto DecoderBuilder::finish(std::string x) {
  x = norm(x, "output_norm");
  std::string logits;
  if (m_.find("output.weight")) {
    logits = linear(x, "output.weight", "", 0, c_.vocab_size);
  } else if (embd_q4_) {
    logits = matmul_q4(x, *embd_q4_);  // tied head on the quantized table
  } else {
    // Tied head: the embedding table is shared, transposed once by the runtime's constant folding.
    const std::string wt = g_.op("Transpose", {embd_name_}, {{"perm", std::vector<int64_t>{1, 0}}});
    logits = g_.op("MatMul", {x, wt});
  }
  if (ct_ == kFloat16) logits = g_.op("Cast", {logits}, {{"to", int64_t{kFloat}}});
  if (c_.final_logit_softcap > 0) {
    const auto cap = static_cast<float>(c_.final_logit_softcap);
    logits = g_.op("Mul", {g_.op("Tanh", {g_.op("Div", {logits, g_.const_float(cap, kFloat)})}),
                           g_.const_float(cap, kFloat)});
  }
  g_.rename(logits, "logits");
  return g_.finish(kOnnxOpset, uses_ms_);
}

}  // namespace

int64_t static_cache_length(const ModelConfig& config, int64_t requested) {
  if (requested > 0) return requested;
  const int64_t ctx = config.context_length > 0 ? config.context_length : 2048;
  return std::min<int64_t>(ctx, 2048);
}

onnx::ModelProto build_decoder(const Model& model, const OnnxGraphOptions& options) {
  const ModelConfig& c = model.config;
  if (c.n_head <= 0 || c.n_layer <= 0 || c.n_embd <= 0 || c.vocab_size <= 0) {
    fail_invalid("ONNX export: config of {} has n_head {}, n_layer {}, n_embd {}, vocab {}", c.name,
                 c.n_head, c.n_layer, c.n_embd, c.vocab_size);
  }
  const int64_t kv = c.n_head_kv > 0 ? c.n_head_kv : c.n_head;
  if (c.n_head % kv != 0) {
    fail_invalid("ONNX export: n_head {} is not a multiple of n_head_kv {}", c.n_head, kv);
  }
  if (c.rope.scaling == RopeScaling::llama3 && !model.find("rope_freqs.weight")) {
    fail_unsupported("ONNX export: llama3 RoPE scaling needs rope_freqs.weight (as the engine)");
  }
  const int64_t bs = options.q4_block_size;
  if (bs != 32 && bs != 64 && bs != 128) {
    fail_unsupported("ONNX export: q4 block size {} (supported: 32, 64, 128)", bs);
  }
  if (options.q4_accuracy_level < 0 || options.q4_accuracy_level > 4) {
    fail_unsupported("ONNX export: q4 accuracy_level {} (supported: 0 to 4)",
                     options.q4_accuracy_level);
  }
  if (options.q4_embedding && options.precision != OnnxPrecision::q4 &&
      options.precision != OnnxPrecision::q4f16) {
    fail_unsupported("ONNX export: q4 embedding applies to precisions q4 and q4f16, not {}",
                     onnx_precision_name(options.precision));
  }
  DecoderBuilder b(model, options);
  return b.build();
}

void check_onnx_model(onnx::ModelProto& model, const std::string& what) {
  try {
    onnx::checker::check_model(model);
    onnx::ShapeInferenceOptions opts{true, 1, true};
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception& e) {
    fail(ErrorKind::internal, "ONNX export: {} fails ONNX's checker or shape inference: {}", what,
         e.what());
  }
}

}  // namespace slmkit::onnx_export
