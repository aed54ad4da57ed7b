#include "kernels/packed_layouts.h"

#include <cstring>
#include <type_traits>

#include "quant/scale_search.h"

namespace slmkit::kernels {
namespace {

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
        for (int64_t h = 0; h < L::kHalves; ++h) {
          std::memcpy(dst + 16 * h + 2 * r, src + 2 * h, 2);
        }
        for (int64_t c = 0; c < L::kChunks; ++c) {
          std::memcpy(dst + L::kScaleBytes + L::kChunkBytes * c + kWordBytes * r,
                      src + kQs + kWordBytes * c, kWordBytes);
        }
      }
    }
  }
}

// Q4_K (kFive false) and Q5_K: the parts they share are q4_kx8's.
template <bool kFive>
using K45Block = std::conditional_t<kFive, quant::block_q5_k, quant::block_q4_k>;
template <bool kFive>
constexpr int64_t k45_block_bytes = kFive ? q5_kx8::kBlockBytes : q4_kx8::kBlockBytes;

template <bool kFive>
void k45x8_pack(const MatrixRef& w, std::byte* out) {
  using B = K45Block<kFive>;
  using namespace q4_kx8;
  const int64_t nb = w.cols / B::kElements;
  constexpr int64_t kBytes = k45_block_bytes<kFive>;
  for (int64_t g = 0; g < w.rows / kRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      auto* dst = reinterpret_cast<uint8_t*>(out + (g * nb + b) * kBytes);
      if constexpr (kFive) std::memset(dst + q5_kx8::kHigh, 0, 8 * kChunkBytes);
      for (int64_t r = 0; r < kRows; ++r) {
        B src;
        std::memcpy(&src, w.row(kRows * g + r) + b * static_cast<int64_t>(sizeof(B)), sizeof(src));
        std::memcpy(dst + kD + 2 * r, &src.d, 2);
        std::memcpy(dst + kDmin + 2 * r, &src.dmin, 2);
        for (int s = 0; s < 8; ++s) {
          uint8_t sc = 0, m = 0;
          quant::get_scale_min_k4(s, src.scales, &sc, &m);
          dst[kScales + 8 * s + r] = sc;
          dst[kMins + 16 * (s / 2) + 2 * r + s % 2] = m;
        }
        for (int64_t chunk = 0; chunk < 32; ++chunk) {
          const int64_t j = chunk / 8, c = chunk % 8;
          std::memcpy(dst + kQs + kChunkBytes * chunk + 4 * r, src.qs + 32 * j + 4 * c, 4);
          if constexpr (kFive) {
            for (int i = 0; i < 4; ++i) {
              const int qh = src.qh[4 * c + i];
              const int bits = ((qh >> (2 * j)) & 1) | (((qh >> (2 * j + 1)) & 1) << 1);
              dst[q5_kx8::kHigh + kChunkBytes * (2 * j + c / 4) + 4 * r + i] |=
                  static_cast<uint8_t>(bits << (2 * (c % 4)));
            }
          }
        }
      }
    }
  }
}

template <bool kFive>
void k45x8_unpack(const std::byte* in, int64_t r, std::byte* out) {
  using namespace q4_kx8;
  const auto* src = reinterpret_cast<const uint8_t*>(in);
  K45Block<kFive> b{};
  std::memcpy(&b.d, src + kD + 2 * r, 2);
  std::memcpy(&b.dmin, src + kDmin + 2 * r, 2);
  for (int s = 0; s < 8; ++s) {
    quant::set_scale_min_k4(s, src[kScales + 8 * s + r], src[kMins + 16 * (s / 2) + 2 * r + s % 2],
                            b.scales);
  }
  for (int64_t chunk = 0; chunk < 32; ++chunk) {
    const int64_t j = chunk / 8, c = chunk % 8;
    std::memcpy(b.qs + 32 * j + 4 * c, src + kQs + kChunkBytes * chunk + 4 * r, 4);
    if constexpr (kFive) {
      for (int i = 0; i < 4; ++i) {
        const int bits =
            src[q5_kx8::kHigh + kChunkBytes * (2 * j + c / 4) + 4 * r + i] >> (2 * (c % 4));
        b.qh[4 * c + i] |=
            static_cast<uint8_t>(((bits & 1) << (2 * j)) | (((bits >> 1) & 1) << (2 * j + 1)));
      }
    }
  }
  std::memcpy(out, &b, sizeof(b));
}

// The 256 6-bit values (q + 32) of a Q6_K block: element 128n + 32k + l takes a nibble of
// ql[64n + 32 (k % 2) + l] (k >= 2: the high one) and bits 2k of qh[32n + l].
void q6_k_values(const quant::block_q6_k& b, uint8_t* v) {
  for (int n = 0; n < 2; ++n) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t ql = b.ql[64 * n + 32 * (k % 2) + l];
        const int low = k < 2 ? ql & 0x0F : ql >> 4;
        const int high = (b.qh[32 * n + l] >> (2 * k)) & 3;
        v[128 * n + 32 * k + l] = static_cast<uint8_t>(low | (high << 4));
      }
    }
  }
}

void q6_kx8_pack(const MatrixRef& w, std::byte* out) {
  using quant::block_q6_k;
  using namespace q6_kx8;
  const int64_t nb = w.cols / block_q6_k::kElements;
  for (int64_t g = 0; g < w.rows / kRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      auto* dst = reinterpret_cast<uint8_t*>(out + (g * nb + b) * kBlockBytes);
      std::memset(dst + kHigh, 0, 16 * kChunkBytes);  // filled two bits at a time below
      for (int64_t r = 0; r < kRows; ++r) {
        block_q6_k src;
        std::memcpy(&src, w.row(kRows * g + r) + b * static_cast<int64_t>(sizeof(block_q6_k)),
                    sizeof(src));
        uint8_t v[block_q6_k::kElements];
        q6_k_values(src, v);
        std::memcpy(dst + kD + 2 * r, &src.d, 2);
        for (int s = 0; s < 16; ++s) {
          dst[kScales + 16 * (s / 2) + 2 * r + s % 2] = static_cast<uint8_t>(src.scales[s]);
        }
        for (int j = 0; j < 4; ++j) {
          for (int c = 0; c < 8; ++c) {
            for (int i = 0; i < 4; ++i) {
              const uint8_t lo = v[64 * j + 4 * c + i], hi = v[64 * j + 32 + 4 * c + i];
              const int64_t lane = 4 * r + i;
              dst[kLow + kChunkBytes * (8 * j + c) + lane] =
                  static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
              const int shift = 4 * (c % 2);
              dst[kHigh + kChunkBytes * (4 * j + c / 2) + lane] |=
                  static_cast<uint8_t>(((lo >> 4) | ((hi >> 4) << 2)) << shift);
            }
          }
        }
      }
    }
  }
}

template <class B>
void x8_unpack(const std::byte* in, int64_t r, std::byte* out) {
  using L = packed_x8<B>;
  constexpr int64_t kWordBytes = L::kChunkBytes / L::kRows;
  for (int64_t h = 0; h < L::kHalves; ++h) std::memcpy(out + 2 * h, in + 16 * h + 2 * r, 2);
  for (int64_t c = 0; c < L::kChunks; ++c) {
    std::memcpy(out + offsetof(B, qs) + kWordBytes * c,
                in + L::kScaleBytes + L::kChunkBytes * c + kWordBytes * r, kWordBytes);
  }
}

void q6_kx8_unpack(const std::byte* in, int64_t r, std::byte* out) {
  using namespace q6_kx8;
  const auto* src = reinterpret_cast<const uint8_t*>(in);
  quant::block_q6_k b{};
  std::memcpy(&b.d, src + kD + 2 * r, 2);
  for (int s = 0; s < 16; ++s) {
    b.scales[s] = static_cast<int8_t>(src[kScales + 16 * (s / 2) + 2 * r + s % 2]);
  }
  uint8_t v[quant::block_q6_k::kElements];
  for (int j = 0; j < 4; ++j) {
    for (int c = 0; c < 8; ++c) {
      for (int i = 0; i < 4; ++i) {
        const int64_t lane = 4 * r + i;
        const uint8_t low = src[kLow + kChunkBytes * (8 * j + c) + lane];
        const int high = src[kHigh + kChunkBytes * (4 * j + c / 2) + lane] >> (4 * (c % 2));
        v[64 * j + 4 * c + i] = static_cast<uint8_t>((low & 0x0F) | ((high & 3) << 4));
        v[64 * j + 32 + 4 * c + i] = static_cast<uint8_t>((low >> 4) | (((high >> 2) & 3) << 4));
      }
    }
  }
  for (int n = 0; n < 2; ++n) {  // q6_k_values, inverted
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t x = v[128 * n + 32 * k + l];
        b.ql[64 * n + 32 * (k % 2) + l] |= static_cast<uint8_t>((x & 0x0F) << (k < 2 ? 0 : 4));
        b.qh[32 * n + l] |= static_cast<uint8_t>((x >> 4) << (2 * k));
      }
    }
  }
  std::memcpy(out, &b, sizeof(b));
}

template <class B>
void q5x8_pack(const MatrixRef& w, std::byte* out) {
  using L = q5x8<B>;
  const int64_t nb = w.cols / B::kElements;
  for (int64_t g = 0; g < w.rows / L::kRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      auto* dst = reinterpret_cast<uint8_t*>(out + (g * nb + b) * L::kBlockBytes);
      for (int64_t r = 0; r < L::kRows; ++r) {
        B src;
        std::memcpy(&src, w.row(L::kRows * g + r) + b * static_cast<int64_t>(sizeof(B)),
                    sizeof(src));
        uint32_t qh;
        std::memcpy(&qh, src.qh, 4);
        for (int64_t h = 0; h < L::kHalves; ++h) {
          std::memcpy(dst + 16 * h + 2 * r, reinterpret_cast<const uint8_t*>(&src) + 2 * h, 2);
        }
        for (int c = 0; c < 4; ++c) {
          std::memcpy(dst + L::kChunks + L::kChunkBytes * c + 4 * r, src.qs + 4 * c, 4);
          for (int i = 0; i < 4; ++i) {
            uint8_t& h = dst[L::kHigh + 4 * r + i];
            if (c == 0) h = 0;
            h = static_cast<uint8_t>(h | ((qh >> (4 * c + i)) & 1) << (2 * c) |
                                     ((qh >> (16 + 4 * c + i)) & 1) << (2 * c + 1));
          }
        }
      }
    }
  }
}

template <class B>
void q5x8_unpack(const std::byte* in, int64_t r, std::byte* out) {
  using L = q5x8<B>;
  const auto* src = reinterpret_cast<const uint8_t*>(in);
  B b{};
  for (int64_t h = 0; h < L::kHalves; ++h) {
    std::memcpy(reinterpret_cast<uint8_t*>(&b) + 2 * h, src + 16 * h + 2 * r, 2);
  }
  uint32_t qh = 0;
  for (int c = 0; c < 4; ++c) {
    std::memcpy(b.qs + 4 * c, src + L::kChunks + L::kChunkBytes * c + 4 * r, 4);
    for (int i = 0; i < 4; ++i) {
      const uint32_t h = src[L::kHigh + 4 * r + i];
      qh |= ((h >> (2 * c)) & 1) << (4 * c + i) | ((h >> (2 * c + 1)) & 1) << (16 + 4 * c + i);
    }
  }
  std::memcpy(b.qh, &qh, 4);
  std::memcpy(out, &b, sizeof(b));
}

void f16x16_pack(const MatrixRef& w, std::byte* out) {
  constexpr int64_t kR = f16x16::kRows, kE = sizeof(uint16_t);
  for (int64_t g = 0; g < w.rows / kR; ++g) {
    std::byte* dst = out + g * w.cols * kR * kE;
    for (int64_t r = 0; r < kR; ++r) {
      const std::byte* src = w.row(kR * g + r);
      for (int64_t k = 0; k < w.cols; ++k) std::memcpy(dst + (k * kR + r) * kE, src + k * kE, kE);
    }
  }
}

// A "block" of F16 is one element: column k's block of a group is its 16 values.
void f16x16_unpack(const std::byte* in, int64_t r, std::byte* out) {
  std::memcpy(out, in + r * static_cast<int64_t>(sizeof(uint16_t)), sizeof(uint16_t));
}

// The layout rows of the legacy block types, from their templates.
template <class B>
constexpr PackedLayout x8_layout(std::string_view name, DType type) {
  return {name, type, packed_x8<B>::kRows, x8_pack<B>, packed_x8<B>::kBlockBytes, x8_unpack<B>};
}
template <class B>
constexpr PackedLayout q5x8_layout(std::string_view name, DType type) {
  return {name, type, q5x8<B>::kRows, q5x8_pack<B>, q5x8<B>::kBlockBytes, q5x8_unpack<B>};
}

}  // namespace

// name, weight type, rows per group, pack, bytes per block column of a group, unpack.
const PackedLayout kPackedF16x16 = {"f16x16",    DType::F16,          f16x16::kRows,
                                    f16x16_pack, f16x16::kBlockBytes, f16x16_unpack};
const PackedLayout kPackedBF16x16 = {"bf16x16",   DType::BF16,         f16x16::kRows,
                                     f16x16_pack, f16x16::kBlockBytes, f16x16_unpack};
const PackedLayout kPackedQ4_0x8 = x8_layout<quant::block_q4_0>("q4_0x8", DType::Q4_0);
const PackedLayout kPackedQ8_0x8 = x8_layout<quant::block_q8_0>("q8_0x8", DType::Q8_0);
const PackedLayout kPackedQ4_1x8 = x8_layout<quant::block_q4_1>("q4_1x8", DType::Q4_1);
const PackedLayout kPackedQ5_0x8 = q5x8_layout<quant::block_q5_0>("q5_0x8", DType::Q5_0);
const PackedLayout kPackedQ5_1x8 = q5x8_layout<quant::block_q5_1>("q5_1x8", DType::Q5_1);
const PackedLayout kPackedQ4_Kx8 = {"q4_kx8",          DType::Q4_K,         q4_kx8::kRows,
                                    k45x8_pack<false>, q4_kx8::kBlockBytes, k45x8_unpack<false>};
const PackedLayout kPackedQ5_Kx8 = {"q5_kx8",         DType::Q5_K,         q4_kx8::kRows,
                                    k45x8_pack<true>, q5_kx8::kBlockBytes, k45x8_unpack<true>};
const PackedLayout kPackedQ6_Kx8 = {"q6_kx8",    DType::Q6_K,         q6_kx8::kRows,
                                    q6_kx8_pack, q6_kx8::kBlockBytes, q6_kx8_unpack};

}  // namespace slmkit::kernels
