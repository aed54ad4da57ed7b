// Causal self-attention over the KV cache: MHA, GQA and MQA (a KV head serves n_rep query heads,
// whose queries are multiplied with its keys in one product), sliding windows, soft-capping.
#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "engine/session_impl.h"

namespace slmkit {

std::byte* Session::Impl::k_row(int64_t layer, int64_t g, int64_t d) {
  const int64_t row = (layer * e->n_head_kv + g) * e->head_dim + d;
  return k_cache.data() + static_cast<size_t>(row * n_ctx) * kv_elem_bytes;
}

std::byte* Session::Impl::v_row(int64_t layer, int64_t g, int64_t d) {
  const int64_t row = (layer * e->n_head_kv + g) * e->head_dim + d;
  return v_cache.data() + static_cast<size_t>(row * n_ctx) * kv_elem_bytes;
}

void Session::Impl::store_kv(int64_t layer, int64_t n_tokens, int64_t pos0) {
  // The cache holds K^T and V^T: a row per dimension, positions along it. Writing token by token
  // would touch every row's line once per token (prefill: 11% of distilgpt2 Q4_0's pp128, 1
  // thread). Rows in blocks of kDims, tokens inner: a block reads its tokens' values from the
  // same few lines and writes runs of consecutive positions.
  constexpr int64_t kDims = 16;
  const int64_t kv_dim = e->kv_dim;
  const int64_t per_half = (kv_dim + kDims - 1) / kDims;
  const bool f16 = kv_type == DType::F16;
  if (f16) {
    // Onto the f16 grid first, vectorized (K and V are adjacent in a token's row; nothing reads
    // them from there again): f32_to_f16 then never takes its mispredicted rounding branches.
    for_tokens(n_tokens, 2 * kv_dim, [&](int64_t t) {
      float* kv = qkv.data() + t * qkv_dim + e->q_dim;
      kernels::round_to_grid(DType::F16, kv, kv, 2 * kv_dim);
    });
  }
  auto blocks = [&](int64_t begin, int64_t end, int) {
    for (int64_t b = begin; b < end; ++b) {
      const bool is_v = b >= per_half;
      const int64_t c0 = (b % per_half) * kDims, c1 = std::min(kv_dim, c0 + kDims);
      const float* src = qkv.data() + (is_v ? e->q_dim + kv_dim : e->q_dim);
      for (int64_t c = c0; c < c1; ++c) {
        // Row (layer, g, d) of the cache is row layer * kv_dim + g * head_dim + d = c.
        std::byte* row = (is_v ? v_row(layer, 0, c) : k_row(layer, 0, c)) +
                         static_cast<size_t>(pos0) * kv_elem_bytes;
        for (int64_t t = 0; t < n_tokens; ++t) {
          const float v = src[t * qkv_dim + c];
          if (f16) {
            const uint16_t h = f32_to_f16(v);
            std::memcpy(row + 2 * t, &h, 2);
          } else {
            std::memcpy(row + 4 * t, &v, sizeof(float));
          }
        }
      }
    }
  };
  if (n_tokens * kv_dim < 16384) {
    blocks(0, 2 * per_half, 0);
  } else {
    pool.parallel_for(2 * per_half, blocks);
  }
}

void Session::Impl::attention(int64_t layer, int64_t n_tokens, int64_t pos0) {
  const ModelConfig& c = e->model.config;
  const int64_t hd = e->head_dim;
  const int64_t n_rep = e->n_rep;
  const bool sliding = e->layers[static_cast<size_t>(layer)].sliding;
  const int64_t window = c.sliding_window;
  const float scale = e->attn_scale;
  const auto softcap = static_cast<float>(c.attn_logit_softcap);
  const bool round_f16 = kv_type == DType::F16;
  const auto elem = static_cast<int64_t>(kv_elem_bytes);

  // Work items: (token, KV head, a share of the query heads sharing that KV head). The share is
  // the whole group (its queries meet the keys in one product) unless there are fewer
  // (token, KV head) pairs than threads, as in a decode step of an MQA model.
  const int64_t pairs = n_tokens * e->n_head_kv;
  const int64_t splits = pairs >= pool.size() ? 1 : std::min<int64_t>(n_rep, pool.size());
  const int64_t per_item = (n_rep + splits - 1) / splits;
  const int64_t n_items = pairs * splits;
  auto items = [&](int64_t begin, int64_t end, int thread) {
    float* scores = scratch.data() + thread * scratch_floats;  // [n_rep, n_keys]
    float* q_rounded = scores + n_rep * n_ctx;                 // [n_rep, head_dim]
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / (e->n_head_kv * splits);
      const int64_t g = item / splits % e->n_head_kv;
      const int64_t r0 = item % splits * per_item;
      const int64_t nr = std::min(n_rep, r0 + per_item) - r0;  // query heads of this item
      if (nr <= 0) continue;
      const int64_t head0 = g * n_rep + r0;
      const int64_t pos = pos0 + t;
      // Keys in view: all earlier positions, or the last `window` of them (pos - key < window).
      const int64_t lo = sliding ? std::max<int64_t>(0, pos - window + 1) : 0;
      const int64_t n_keys = pos - lo + 1;

      const float* q = qkv.data() + t * qkv_dim + head0 * hd;
      if (round_f16) {
        kernels::round_to_grid(DType::F16, q, q_rounded, nr * hd);
        q = q_rounded;
      }
      // scores[r, key] = sum_d q[r, d] K^T[d, key], vectorized along the keys.
      const kernels::MatrixRef keys{kv_type, k_row(layer, g, 0) + lo * elem, hd, n_keys,
                                    n_ctx * elem};
      kernels::matmul_transposed(keys, q, hd, nr, scores, n_keys, 0, n_keys);

      for (int64_t r = 0; r < nr; ++r) {
        float* s = scores + r * n_keys;
        kernels::scale(s, scale, s, n_keys);
        if (softcap > 0) kernels::softcap(s, softcap, s, n_keys);
        kernels::softmax(s, n_keys);
        if (round_f16) kernels::round_to_grid(DType::F16, s, s, n_keys);
      }

      // out[r, d] = sum_key p[r, key] V[key, d]: rows of V^T, restricted to the keys in view.
      const kernels::MatrixRef values{kv_type, v_row(layer, g, 0) + lo * elem, hd, n_keys,
                                      n_ctx * elem};
      float* out = att.data() + t * e->q_dim + head0 * hd;
      kernels::matmul(values, scores, n_keys, nr, out, hd, 0, hd);
    }
  };
  // Two products of head_dim x keys per query head.
  const int64_t macs = 2 * n_tokens * e->n_head * (pos0 + n_tokens) * hd;
  if (macs < kMinParallelMacs) {
    items(0, n_items, 0);
  } else {
    pool.parallel_for(n_items, items);
  }
}

}  // namespace slmkit
