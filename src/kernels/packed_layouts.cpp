#include "kernels/packed_layouts.h"

#include <cstring>

namespace slmkit::kernels {
namespace {

static_assert(packed_x8<quant::block_q4_0>::kRows == 8 && packed_x8<quant::block_q8_0>::kRows == 8);

template <class B>
size_t x8_bytes(const MatrixRef& w) {
  using L = packed_x8<B>;
  if (w.rows < L::kRows || w.cols % B::kElements != 0) return 0;
  if (!has_packed_kernel(w.dtype)) return 0;
  return static_cast<size_t>(w.rows / L::kRows) * static_cast<size_t>(w.cols / B::kElements) *
         static_cast<size_t>(L::kBlockBytes);
}

template <class B>
void x8_pack(const MatrixRef& w, std::byte* out) {
  using L = packed_x8<B>;
  const int64_t nb = w.cols / B::kElements;
  constexpr int64_t kQs = offsetof(B, qs);
  constexpr int64_t kWordBytes = L::kChunkBytes / L::kRows;  // 4 bytes of a row
  for (int64_t g = 0; g < w.rows / L::kRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      std::byte* dst = out + (g * nb + b) * L::kBlockBytes;
      for (int64_t r = 0; r < L::kRows; ++r) {
        const std::byte* src = w.row(L::kRows * g + r) + b * static_cast<int64_t>(sizeof(B));
        std::memcpy(dst + static_cast<int64_t>(sizeof(uint16_t)) * r, src + offsetof(B, d),
                    sizeof(uint16_t));
        for (int64_t c = 0; c < L::kChunks; ++c) {
          std::memcpy(dst + L::kScaleBytes + L::kChunkBytes * c + kWordBytes * r,
                      src + kQs + kWordBytes * c, kWordBytes);
        }
      }
    }
  }
}

}  // namespace

const PackedLayout kPackedQ4_0x8 = {"q4_0x8", DType::Q4_0, 8, x8_bytes<quant::block_q4_0>,
                                    x8_pack<quant::block_q4_0>};
const PackedLayout kPackedQ8_0x8 = {"q8_0x8", DType::Q8_0, 8, x8_bytes<quant::block_q8_0>,
                                    x8_pack<quant::block_q8_0>};

}  // namespace slmkit::kernels
