#include "quant/quant.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <thread>

#include "core/fail.h"
#include "quant/type_traits.h"

namespace slmkit::quant {
namespace {

const QuantTraits& require(DType type, const char* what) {
  const QuantTraits* t = quant_traits(type);
  if (!t) fail_unsupported("{}: no {} for type {}", what, what, dtype_name(type));
  return *t;
}

// Row r's floats: either a pointer into the source or `scratch` filled from it.
using RowReader = std::function<const float*(int64_t row, float* scratch)>;

std::vector<std::byte> quantize_rows_impl(DType type, int64_t n_rows, int64_t n_per_row,
                                          const RowReader& read, int n_threads,
                                          const float* importance, bool best_of_both) {
  const QuantTraits& t = require(type, "quantizer");
  const WeightedFromFloatFn weighted_fn = importance ? t.from_float_weighted : nullptr;
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
