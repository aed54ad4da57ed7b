#include "quant/quant.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <thread>

#include "core/fail.h"
#include "core/half.h"
#include "quant/rows.h"

namespace slmkit::quant {
namespace {

// Adapts a typed row function to the table's untyped signature.
template <typename Block, void (*Fn)(const float*, Block*, int64_t)>
void from_float(const float* x, void* y, int64_t n) {
  Fn(x, static_cast<Block*>(y), n);
}
template <typename Block, void (*Fn)(const Block*, float*, int64_t)>
void to_float(const void* x, float* y, int64_t n) {
  Fn(static_cast<const Block*>(x), y, n);
}

void f32_from_float(const float* x, void* y, int64_t n) {
  std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}
void f32_to_float(const void* x, float* y, int64_t n) {
  std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}
template <uint16_t (*Convert)(float)>
void half_from_float(const float* x, void* y, int64_t n) {
  auto* out = static_cast<std::byte*>(y);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = Convert(x[i]);
    std::memcpy(out + i * 2, &h, 2);
  }
}
template <float (*Convert)(uint16_t)>
void half_to_float(const void* x, float* y, int64_t n) {
  const auto* in = static_cast<const std::byte*>(x);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, in + i * 2, 2);
    y[i] = Convert(h);
  }
}

// Activation pairings follow ggml-cpu's type_traits_cpu: the symmetric legacy types dot with
// q8_0, the ones with a minimum with q8_1 (whose block carries the sum), K-quants with q8_K.
const std::array<QuantTraits, 15> kTable = {{
    {DType::F32, f32_from_float, f32_to_float, DType::F32},
    {DType::F16, half_from_float<f32_to_f16>, half_to_float<f16_to_f32>, DType::F16},
    {DType::BF16, half_from_float<f32_to_bf16>, half_to_float<bf16_to_f32>, DType::BF16},
    {DType::Q4_0, from_float<block_q4_0, quantize_row_q4_0>,
     to_float<block_q4_0, dequantize_row_q4_0>, DType::Q8_0},
    {DType::Q4_1, from_float<block_q4_1, quantize_row_q4_1>,
     to_float<block_q4_1, dequantize_row_q4_1>, DType::Q8_1},
    {DType::Q5_0, from_float<block_q5_0, quantize_row_q5_0>,
     to_float<block_q5_0, dequantize_row_q5_0>, DType::Q8_0},
    {DType::Q5_1, from_float<block_q5_1, quantize_row_q5_1>,
     to_float<block_q5_1, dequantize_row_q5_1>, DType::Q8_1},
    {DType::Q8_0, from_float<block_q8_0, quantize_row_q8_0>,
     to_float<block_q8_0, dequantize_row_q8_0>, DType::Q8_0},
    {DType::Q8_1, from_float<block_q8_1, quantize_row_q8_1>,
     to_float<block_q8_1, dequantize_row_q8_1>, DType::Q8_1},
    {DType::Q2_K, from_float<block_q2_k, quantize_row_q2_k>,
     to_float<block_q2_k, dequantize_row_q2_k>, DType::Q8_K},
    {DType::Q3_K, from_float<block_q3_k, quantize_row_q3_k>,
     to_float<block_q3_k, dequantize_row_q3_k>, DType::Q8_K},
    {DType::Q4_K, from_float<block_q4_k, quantize_row_q4_k>,
     to_float<block_q4_k, dequantize_row_q4_k>, DType::Q8_K},
    {DType::Q5_K, from_float<block_q5_k, quantize_row_q5_k>,
     to_float<block_q5_k, dequantize_row_q5_k>, DType::Q8_K},
    {DType::Q6_K, from_float<block_q6_k, quantize_row_q6_k>,
     to_float<block_q6_k, dequantize_row_q6_k>, DType::Q8_K},
    {DType::Q8_K, from_float<block_q8_k, quantize_row_q8_k>,
     to_float<block_q8_k, dequantize_row_q8_k>, DType::Q8_K},
}};

template <typename Block, void (*Fn)(const float*, Block*, int64_t, const float*)>
void weighted(const float* x, void* y, int64_t n, const float* qw) {
  Fn(x, static_cast<Block*>(y), n, qw);
}

const QuantTraits& require(DType type, const char* what) {
  const QuantTraits* t = quant_traits(type);
  if (!t) fail_unsupported("{}: no {} for type {}", what, what, dtype_name(type));
  return *t;
}

}  // namespace

const QuantTraits* quant_traits(DType type) {
  for (const QuantTraits& row : kTable) {
    if (row.type == type) return &row;
  }
  return nullptr;
}

WeightedFromFloatFn weighted_quantizer(DType type) {
  switch (type) {
    case DType::Q4_0:
      return weighted<block_q4_0, quantize_row_q4_0_weighted>;
    case DType::Q4_1:
      return weighted<block_q4_1, quantize_row_q4_1_weighted>;
    case DType::Q5_0:
      return weighted<block_q5_0, quantize_row_q5_0_weighted>;
    case DType::Q5_1:
      return weighted<block_q5_1, quantize_row_q5_1_weighted>;
    case DType::Q2_K:
      return weighted<block_q2_k, quantize_row_q2_k_weighted>;
    case DType::Q3_K:
      return weighted<block_q3_k, quantize_row_q3_k_weighted>;
    case DType::Q4_K:
      return weighted<block_q4_k, quantize_row_q4_k_weighted>;
    case DType::Q5_K:
      return weighted<block_q5_k, quantize_row_q5_k_weighted>;
    case DType::Q6_K:
      return weighted<block_q6_k, quantize_row_q6_k_weighted>;
    default:
      return nullptr;
  }
}

bool can_quantize(DType type) {
  return quant_traits(type) != nullptr;
}
bool can_dequantize(DType type) {
  return quant_traits(type) != nullptr;
}

namespace {

// Row r's floats: either a pointer into the source or `scratch` filled from it.
using RowReader = std::function<const float*(int64_t row, float* scratch)>;

std::vector<std::byte> quantize_rows_impl(DType type, int64_t n_rows, int64_t n_per_row,
                                          const RowReader& read, int n_threads,
                                          const float* importance, bool best_of_both) {
  const QuantTraits& t = require(type, "quantizer");
  const WeightedFromFloatFn weighted_fn = importance ? weighted_quantizer(type) : nullptr;
  const uint64_t row_size = *row_bytes(type, static_cast<uint64_t>(n_per_row));
  std::vector<std::byte> out(static_cast<size_t>(row_size) * static_cast<size_t>(n_rows));

  auto weighted_error = [&](const float* x, const float* q) {
    double e = 0;
    for (int64_t j = 0; j < n_per_row; ++j) {
      const double d = static_cast<double>(q[j]) - x[j];
      e += importance[j] * d * d;
    }
    return e;
  };
  auto run = [&](int64_t first, int64_t last) {
    std::vector<float> scratch(static_cast<size_t>(n_per_row));
    std::vector<std::byte> alt(best_of_both && weighted_fn ? row_size : 0);
    std::vector<float> back(alt.empty() ? 0 : static_cast<size_t>(n_per_row));
    for (int64_t r = first; r < last; ++r) {
      const float* x = read(r, scratch.data());
      void* y = out.data() + static_cast<size_t>(r) * row_size;
      if (!weighted_fn) {
        t.from_float(x, y, n_per_row);
        continue;
      }
      weighted_fn(x, y, n_per_row, importance);
      if (alt.empty()) continue;
      t.to_float(y, back.data(), n_per_row);
      const double e_weighted = weighted_error(x, back.data());
      t.from_float(x, alt.data(), n_per_row);
      t.to_float(alt.data(), back.data(), n_per_row);
      if (weighted_error(x, back.data()) < e_weighted) std::memcpy(y, alt.data(), row_size);
    }
  };
  if (n_threads <= 0)
    n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n_threads = static_cast<int>(std::min<int64_t>(n_threads, std::max<int64_t>(1, n_rows)));
  if (n_threads == 1) {
    run(0, n_rows);
    return out;
  }
  {
    std::vector<std::jthread> workers;  // joined at the end of this scope
    const int64_t per = (n_rows + n_threads - 1) / n_threads;
    for (int w = 0; w < n_threads; ++w) {
      const int64_t first = w * per;
      const int64_t last = std::min(n_rows, first + per);
      if (first < last) workers.emplace_back(run, first, last);
    }
  }
  return out;
}

void check_rows(DType type, uint64_t n_elements, int64_t n_per_row) {
  const DTypeTraits& dt = traits(type);
  if (n_per_row <= 0 || n_per_row % dt.block_size != 0) {
    fail_invalid("quantize to {}: row of {} elements is not a multiple of the block size {}",
                 dt.name, n_per_row, dt.block_size);
  }
  if (n_elements % static_cast<uint64_t>(n_per_row) != 0) {
    fail_invalid("quantize to {}: {} elements is not a whole number of {}-element rows", dt.name,
                 n_elements, n_per_row);
  }
}

}  // namespace

std::vector<std::byte> quantize_rows(DType type, std::span<const float> src, int64_t n_per_row,
                                     int n_threads, const float* importance, bool best_of_both) {
  require(type, "quantizer");
  check_rows(type, src.size(), n_per_row);
  const int64_t n_rows = static_cast<int64_t>(src.size()) / n_per_row;
  return quantize_rows_impl(
      type, n_rows, n_per_row, [&](int64_t r, float*) { return src.data() + r * n_per_row; },
      n_threads, importance, best_of_both);
}

std::vector<std::byte> quantize_tensor_rows(DType type, DType from, std::span<const std::byte> src,
                                            int64_t n_per_row, int n_threads,
                                            const float* importance, bool best_of_both) {
  require(type, "quantizer");
  const QuantTraits& in = require(from, "dequantizer");
  if (n_per_row <= 0)
    fail_invalid("quantize to {}: row of {} elements", dtype_name(type), n_per_row);
  const auto in_row = row_bytes(from, static_cast<uint64_t>(n_per_row));
  if (!in_row || *in_row == 0 || src.size() % *in_row != 0) {
    fail_invalid("quantize {} -> {}: {} bytes are not whole rows of {} elements", dtype_name(from),
                 dtype_name(type), src.size(), n_per_row);
  }
  const auto n_rows = static_cast<int64_t>(src.size() / *in_row);
  check_rows(type, static_cast<uint64_t>(n_rows * n_per_row), n_per_row);
  const size_t stride = static_cast<size_t>(*in_row);
  return quantize_rows_impl(
      type, n_rows, n_per_row,
      [&](int64_t r, float* scratch) {
        in.to_float(src.data() + static_cast<size_t>(r) * stride, scratch, n_per_row);
        return static_cast<const float*>(scratch);
      },
      n_threads, importance, best_of_both);
}

void dequantize(DType type, std::span<const std::byte> src, std::span<float> dst) {
  const QuantTraits& t = require(type, "dequantizer");
  const auto need = row_bytes(type, dst.size());
  if (!need) {
    fail_invalid("dequantize {}: {} elements is not a multiple of the block size {}",
                 dtype_name(type), dst.size(), traits(type).block_size);
  }
  if (*need != src.size()) {
    fail_invalid("dequantize {}: {} elements need {} bytes, found {}", dtype_name(type), dst.size(),
                 *need, src.size());
  }
  if (!dst.empty()) t.to_float(src.data(), dst.data(), static_cast<int64_t>(dst.size()));
}

}  // namespace slmkit::quant
