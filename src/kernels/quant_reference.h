// The scalar twins of the quantized kernels, one per weight type: a row of n weights times a row
// of n activations quantized to the type's activation blocks (Q8_0, Q8_1 or Q8_K), with the
// integer sums per block exactly as ggml's generic vec_dot and the per-block float terms summed in
// double. Rows need no alignment. The weight table (weight_types.cpp) names each.
#pragma once

#include <cstddef>
#include <cstdint>

namespace slmkit::kernels::ref {

float dot_q4_0(const std::byte* w, const std::byte* act, int64_t n);
float dot_q4_1(const std::byte* w, const std::byte* act, int64_t n);
float dot_q5_0(const std::byte* w, const std::byte* act, int64_t n);
float dot_q5_1(const std::byte* w, const std::byte* act, int64_t n);
float dot_q8_0(const std::byte* w, const std::byte* act, int64_t n);
float dot_q2_k(const std::byte* w, const std::byte* act, int64_t n);
float dot_q3_k(const std::byte* w, const std::byte* act, int64_t n);
float dot_q4_k(const std::byte* w, const std::byte* act, int64_t n);
float dot_q5_k(const std::byte* w, const std::byte* act, int64_t n);
float dot_q6_k(const std::byte* w, const std::byte* act, int64_t n);

}  // namespace slmkit::kernels::ref
