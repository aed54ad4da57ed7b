#include "core/half.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

namespace slmkit {
namespace {

// Every one of the 65,536 half values survives f16 -> f32 -> f16 unchanged (NaNs stay NaN).
TEST(Half, EveryF16RoundTripsThroughF32) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    const uint16_t back = f32_to_f16(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(back))) << h;
    } else {
      EXPECT_EQ(back, h) << "half bits " << h;
    }
  }
}

TEST(Half, KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // halfway to 65536 rounds to even: infinity
  EXPECT_EQ(f32_to_f16(5.960464477539063e-08f), 0x0001);   // smallest subnormal
  EXPECT_EQ(f32_to_f16(2.9802322387695312e-08f), 0x0000);  // half of it: ties to even
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);       // tie, even stays
  EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);       // tie, odd rounds up
  EXPECT_FLOAT_EQ(f16_to_f32(0x3555), 0.33325195f);
}

TEST(Half, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  uint32_t bits = 0x3f808000u;  // exactly halfway between 0x3f80 and 0x3f81: even wins
  float f;
  std::memcpy(&f, &bits, 4);
  EXPECT_EQ(f32_to_bf16(f), 0x3f80);
  bits = 0x3f818000u;
  std::memcpy(&f, &bits, 4);
  EXPECT_EQ(f32_to_bf16(f), 0x3f82);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
}

}  // namespace
}  // namespace slmkit
