#include "kernels/packed_layouts.h"

#include <cstring>

namespace slmkit::kernels {
namespace {

using quant::block_q4_0;

size_t q4_0x8_bytes(const MatrixRef& w) {
  if (w.rows < q4_0x8::kRows || w.cols % block_q4_0::kElements != 0) return 0;
  if (!has_packed_kernel(DType::Q4_0)) return 0;
  return static_cast<size_t>(w.rows / q4_0x8::kRows) *
         static_cast<size_t>(w.cols / block_q4_0::kElements) *
         static_cast<size_t>(q4_0x8::kBlockBytes);
}

void q4_0x8_pack(const MatrixRef& w, std::byte* out) {
  const int64_t nb = w.cols / block_q4_0::kElements;
  constexpr int64_t kQs = offsetof(block_q4_0, qs);
  constexpr int64_t kWordBytes = q4_0x8::kChunkBytes / q4_0x8::kRows;  // 4 bytes of a row
  for (int64_t g = 0; g < w.rows / q4_0x8::kRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      std::byte* dst = out + (g * nb + b) * q4_0x8::kBlockBytes;
      for (int64_t r = 0; r < q4_0x8::kRows; ++r) {
        const std::byte* src =
            w.row(q4_0x8::kRows * g + r) + b * static_cast<int64_t>(sizeof(block_q4_0));
        std::memcpy(dst + static_cast<int64_t>(sizeof(uint16_t)) * r, src + offsetof(block_q4_0, d),
                    sizeof(uint16_t));
        for (int64_t c = 0; c < q4_0x8::kChunks; ++c) {
          std::memcpy(dst + q4_0x8::kScaleBytes + q4_0x8::kChunkBytes * c + kWordBytes * r,
                      src + kQs + kWordBytes * c, kWordBytes);
        }
      }
    }
  }
}

}  // namespace

const PackedLayout kPackedQ4_0x8 = {"q4_0x8", DType::Q4_0, q4_0x8_bytes, q4_0x8_pack};

}  // namespace slmkit::kernels
