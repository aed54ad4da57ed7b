// Weight layouts repacked at load for kernels that read several rows at once (the repack hook of
// the kernels' weight table, kernels/weight_types.h). A layout is a row here plus its kernel in
// the Highway unit's PackedKernels list (quant_packed_*-inl.h); the GGUF rows stay the source of
// truth and serve whatever the packed copy does not cover.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kernels/kernels.h"
#include "quant/blocks.h"

namespace slmkit::kernels {

struct PackedLayout {
  std::string_view name;
  DType weight;
  // Rows interleaved per group. The packed copy is the groups in order, so the first k groups'
  // rows pack, on their own, into its first bytes (the engine packs a matrix a slice at a time).
  int64_t group_rows;
  // The copy holds the whole groups of rows (`group_rows` each), every group as block columns of
  // `block_bytes` (packed_bytes, quant_kernels.h, says how many bytes a matrix takes).
  void (*pack)(const MatrixRef& w, std::byte* out);  // `out` needs no alignment
  // Bytes of one block column of a group in the copy, and the inverse of pack for one block: row
  // r (< group_rows) of the packed block at `in`, as the GGUF block it came from.
  int64_t block_bytes;
  void (*unpack_block)(const std::byte* in, int64_t r, std::byte* out);
};

// A legacy block type (Q4_0, Q4_1, Q8_0), 8 rows interleaved. Per block of a group of 8 rows:
// the 8 rows' f16 scales (16 bytes; Q4_1: then their f16 minimums), then chunks of 32 bytes whose
// bytes 4r..4r+3 are the next 4 bytes of row r's qs (Q4_x: chunk c = 0..3 holds qs[4c..4c+3], low
// nibbles elements 4c..4c+3, high nibbles 16+4c..; Q8_0: chunk c = 0..7 holds elements
// 4c..4c+3). One 8-bit dot of a chunk with a broadcast of 4 activations then sums all 8 rows'
// products at once, and a block's float work is done once for 8 rows. A group's blocks follow
// each other; groups follow each other.
template <class B>
struct packed_x8 {
  static constexpr int64_t kRows = 8;
  // The f16 fields before qs (d, and m where the block has one), each as 8 rows' values.
  static constexpr int64_t kHalves = static_cast<int64_t>(offsetof(B, qs) / sizeof(uint16_t));
  static constexpr int64_t kScaleBytes = kRows * static_cast<int64_t>(offsetof(B, qs));
  static constexpr int64_t kChunkBytes = 32;
  static constexpr int64_t kChunks = static_cast<int64_t>(sizeof(B::qs)) * kRows / kChunkBytes;
  static constexpr int64_t kBlockBytes = kRows * static_cast<int64_t>(sizeof(B));
  static_assert(offsetof(B, d) == 0 && offsetof(B, qs) == kHalves * sizeof(uint16_t));
  static_assert(kScaleBytes + kChunks * kChunkBytes == kBlockBytes);
};
extern const PackedLayout kPackedQ4_0x8;
extern const PackedLayout kPackedQ4_1x8;
extern const PackedLayout kPackedQ8_0x8;

// Q5_0 and Q5_1, 8 rows interleaved: q4_0x8's layout (Q5_1: q4_1x8's, minimums after the scales)
// with the fifth bits between the scales and the chunks, one 32-byte chunk whose byte 4r + i
// holds, in bit 2c, the fifth bit of row r's element 4c + i and, in bit 2c + 1, that of element
// 16 + 4c + i (c = 0..3). As many bytes as the rows.
template <class B>
struct q5x8 {
  static constexpr int64_t kRows = 8;
  static constexpr int64_t kHalves = static_cast<int64_t>(offsetof(B, qh) / sizeof(uint16_t));
  static constexpr int64_t kScaleBytes = kRows * static_cast<int64_t>(offsetof(B, qh));
  static constexpr int64_t kChunkBytes = 32;
  static constexpr int64_t kHigh = kScaleBytes, kChunks = kHigh + kChunkBytes;
  static constexpr int64_t kBlockBytes = kChunks + 4 * kChunkBytes;
  static_assert(offsetof(B, d) == 0 && offsetof(B, qh) == kHalves * sizeof(uint16_t));
  static_assert(kBlockBytes == kRows * static_cast<int64_t>(sizeof(B)));
};
extern const PackedLayout kPackedQ5_0x8;
extern const PackedLayout kPackedQ5_1x8;

// Q4_K, 8 rows interleaved. Per super-block of a group: the 8 rows' f16 d, then their f16 dmin;
// the 6-bit scales unpacked to bytes, [sub-block s][row r]; the mins as bytes [pair q][row r]
// [2] (mins 2q and 2q + 1 of row r side by side, for one 16-bit multiply-add with the activation
// sums of those sub-blocks); then 32 chunks of 32 bytes, chunk 8j + c holding, in bytes
// 4r..4r+3, qs[32j + 4c .. + 3] of row r (low nibbles: elements 64j + 4c.., sub-block 2j; high
// nibbles: 64j + 32 + 4c.., sub-block 2j + 1). 1184 bytes per 8 rows, 2.8% more than the rows.
namespace q4_kx8 {
inline constexpr int64_t kRows = 8;
inline constexpr int64_t kD = 0, kDmin = 16, kScales = 32, kMins = 96, kQs = 160;
inline constexpr int64_t kChunkBytes = 32;
inline constexpr int64_t kBlockBytes = kQs + 32 * kChunkBytes;
static_assert(kBlockBytes == 1184);
}  // namespace q4_kx8
extern const PackedLayout kPackedQ4_Kx8;

// Q5_K: q4_kx8's layout (its nibbles) followed by the fifth bits, 8 chunks of 32 bytes: chunk
// 2j + h holds in byte 4r + i, bits 2k and 2k + 1, the fifth bits of the two values of q4_kx8's
// chunk 8j + 4h + k (low nibble's, high nibble's). 1440 bytes per 8 rows, 2.3% more than the rows.
namespace q5_kx8 {
inline constexpr int64_t kHigh = q4_kx8::kBlockBytes;
inline constexpr int64_t kBlockBytes = kHigh + 8 * q4_kx8::kChunkBytes;
static_assert(kBlockBytes == 1440);
}  // namespace q5_kx8
extern const PackedLayout kPackedQ5_Kx8;

// Q6_K, 8 rows interleaved, its 6-bit values v = q + 32 regrouped like q4_kx8's. Per super-block
// of a group: the 8 rows' f16 d; the i8 scales as [pair q][row r][2] (scales 2q and 2q + 1 of row
// r side by side); 32 chunks of low nibbles, chunk 8j + c holding in byte 4r + i the low 4 bits
// of row r's v[64j + 4c + i] (low nibble) and v[64j + 32 + 4c + i] (high nibble); then 16 chunks
// of high bits, chunk 4j + p holding in byte 4r + i the top 2 bits of those two values of chunk
// 8j + 2p (bits 0-1, 2-3) and of chunk 8j + 2p + 1 (bits 4-5, 6-7). As many bytes as the rows.
namespace q6_kx8 {
inline constexpr int64_t kRows = 8;
inline constexpr int64_t kD = 0, kScales = 16, kLow = 144, kHigh = kLow + 32 * 32;
inline constexpr int64_t kChunkBytes = 32;
inline constexpr int64_t kBlockBytes = kHigh + 16 * kChunkBytes;
static_assert(kBlockBytes == kRows * static_cast<int64_t>(sizeof(quant::block_q6_k)));
}  // namespace q6_kx8
extern const PackedLayout kPackedQ6_Kx8;

// F16, 16 rows interleaved: column k of a group's 16 rows is 16 consecutive f16 values (32
// bytes), columns in order, groups in order. As many bytes as the rows.
namespace f16x16 {
inline constexpr int64_t kRows = 16;
inline constexpr int64_t kBlockBytes = kRows * static_cast<int64_t>(sizeof(uint16_t));  // a column
}  // namespace f16x16
extern const PackedLayout kPackedF16x16;
// BF16: the same layout of its 16-bit values (the packed kernel widens them as BF16).
extern const PackedLayout kPackedBF16x16;

// Whether this CPU's selected kernels (SLMKIT_ISA included) have a packed kernel for `type`.
bool has_packed_kernel(DType type);
bool has_packed_f16_kernel();  // the float kernels' (matmul_hwy.cpp), F16 and BF16

}  // namespace slmkit::kernels
