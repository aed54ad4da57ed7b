#include "kernels/weight_types.h"

#include <array>
#include <cctype>
#include <cstring>
#include <vector>

#include "core/fail.h"
#include "kernels/packed_layouts.h"
#include "kernels/quant_kernels.h"
#include "kernels/quant_reference.h"
#include "quant/type_traits.h"

namespace slmkit::kernels {
namespace {

// The float types' activations are f32 arrays whatever grid they were rounded onto.
void matmul_float(const MatrixRef& w, const void* act, int64_t act_stride_bytes, int64_t n_tokens,
                  float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  matmul(w, static_cast<const float*>(act), act_stride_bytes / static_cast<int64_t>(sizeof(float)),
         n_tokens, y, y_stride, r0, r1);
}

void matmul_quant(const MatrixRef& w, const void* act, int64_t act_stride_bytes, int64_t n_tokens,
                  float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  quant_matmul(w, static_cast<const std::byte*>(act), act_stride_bytes, n_tokens, y, y_stride, r0,
               r1);
}

struct WeightRow {
  DType weight;
  MatmulFn matmul;
  RowDotFn reference_dot;
  const PackedLayout* packed;
};

const std::array<WeightRow, 13> kWeightRows = {{
    {DType::F32, matmul_float, nullptr, nullptr},
    {DType::F16, matmul_float, nullptr, &kPackedF16x16},
    {DType::BF16, matmul_float, nullptr, &kPackedBF16x16},
    {DType::Q8_0, matmul_quant, ref::dot_q8_0, &kPackedQ8_0x8},
    {DType::Q4_0, matmul_quant, ref::dot_q4_0, &kPackedQ4_0x8},
    {DType::Q5_0, matmul_quant, ref::dot_q5_0, &kPackedQ5_0x8},
    {DType::Q4_1, matmul_quant, ref::dot_q4_1, &kPackedQ4_1x8},
    {DType::Q5_1, matmul_quant, ref::dot_q5_1, &kPackedQ5_1x8},
    {DType::Q2_K, matmul_quant, ref::dot_q2_k, nullptr},
    {DType::Q3_K, matmul_quant, ref::dot_q3_k, nullptr},
    {DType::Q4_K, matmul_quant, ref::dot_q4_k, &kPackedQ4_Kx8},
    {DType::Q5_K, matmul_quant, ref::dot_q5_k, &kPackedQ5_Kx8},
    {DType::Q6_K, matmul_quant, ref::dot_q6_k, &kPackedQ6_Kx8},
}};

WeightKernels derive(const WeightRow& row) {
  WeightKernels k;
  k.weight = row.weight;
  k.matmul = row.matmul;
  k.reference_dot = row.reference_dot;
  k.packed = row.packed;
  k.quant = quant::quant_traits(row.weight);
  if (!k.quant) fail(ErrorKind::internal, "kernels: {} has no quant row", dtype_name(row.weight));
  k.activation = k.quant->vec_dot_type;
  k.convert_activation = activation_converter(k.activation);
  if (!traits(k.activation).is_float) {
    const quant::QuantTraits* act = quant::quant_traits(k.activation);
    k.activation_block_elements = act->block_elements;
    k.activation_block_bytes = act->block_bytes;
  }
  return k;
}

const std::vector<WeightKernels>& table() {
  static const std::vector<WeightKernels> t = [] {
    std::vector<WeightKernels> out;
    for (const WeightRow& row : kWeightRows) out.push_back(derive(row));
    return out;
  }();
  return t;
}

}  // namespace

void WeightKernels::row_to_f32(const std::byte* row, float* out, int64_t n) const {
  if (traits(weight).is_float) return kernels::row_to_f32(weight, row, out, n);
  quant::to_float_any_alignment(*quant, row, out, n);
}

void WeightKernels::row_of(const MatrixRef& w, int64_t r, float* out) const {
  if (!w.packed || !packed || r >= w.rows / packed->group_rows * packed->group_rows) {
    return row_to_f32(w.row(r), out, w.cols);
  }
  const int64_t group = packed->group_rows;
  const auto be = static_cast<int64_t>(quant->block_elements);
  const int64_t nb = w.cols / be;
  const std::byte* blocks = w.packed + (r / group) * nb * packed->block_bytes;
  alignas(16) std::byte block[512];
  if (quant->block_bytes > sizeof(block)) {
    fail(ErrorKind::internal, "kernels: {} blocks of {} bytes", dtype_name(weight),
         quant->block_bytes);
  }
  for (int64_t b = 0; b < nb; ++b) {
    packed->unpack_block(blocks + b * packed->block_bytes, r % group, block);
    quant::to_float_any_alignment(*quant, block, out + b * be, be);
  }
}

const WeightKernels* find_weight_kernels(DType type) {
  for (const WeightKernels& k : table()) {
    if (k.weight == type) return &k;
  }
  return nullptr;
}

std::string weight_type_names() {
  std::string s;
  for (const WeightRow& row : kWeightRows) {
    if (!s.empty()) s += ", ";
    for (char c : dtype_name(row.weight)) s += static_cast<char>(std::toupper(c));
  }
  return s;
}

size_t packed_bytes(const MatrixRef& w) {
  const WeightKernels* k = find_weight_kernels(w.dtype);
  if (!k || !k->packed || !has_packed_kernel(w.dtype)) return 0;
  const int64_t group = k->packed->group_rows, block = k->quant->block_elements;
  if (w.rows < group || w.cols % block != 0) return 0;
  return static_cast<size_t>(w.rows / group) * static_cast<size_t>(w.cols / block) *
         static_cast<size_t>(k->packed->block_bytes);
}

int64_t packed_group_rows(const MatrixRef& w) {
  const WeightKernels* k = find_weight_kernels(w.dtype);
  return k && k->packed ? k->packed->group_rows : 0;
}

void pack_matrix(const MatrixRef& w, std::byte* out) {
  const WeightKernels* k = find_weight_kernels(w.dtype);
  if (!k || !k->packed) {
    fail(ErrorKind::internal, "kernels: no packed layout for {}", dtype_name(w.dtype));
  }
  k->packed->pack(w, out);
}

}  // namespace slmkit::kernels
