#include "slmkit/dtype.h"

#include <gtest/gtest.h>

#include "slmkit/error.h"
#include "slmkit/tensor.h"

namespace slmkit {
namespace {

TEST(DType, BlockSizesMatchGgml) {
  EXPECT_EQ(traits(DType::Q4_0).block_bytes, 18u);
  EXPECT_EQ(traits(DType::Q8_0).block_bytes, 34u);
  EXPECT_EQ(traits(DType::Q4_K).block_bytes, 144u);
  EXPECT_EQ(traits(DType::Q6_K).block_bytes, 210u);
  EXPECT_EQ(traits(DType::Q2_K).block_size, 256u);
  EXPECT_FALSE(dtype_traits(4).has_value());  // retired Q4_2
  EXPECT_EQ(dtype_from_name("Q4_k"), DType::Q4_K);
  EXPECT_EQ(dtype_from_name("BF16"), DType::BF16);
  EXPECT_FALSE(dtype_from_name("q9_0").has_value());
}

TEST(DType, RowBytesRejectsPartialBlocks) {
  EXPECT_EQ(row_bytes(DType::Q4_0, 64), 36u);
  EXPECT_FALSE(row_bytes(DType::Q4_0, 65).has_value());
  EXPECT_EQ(row_bytes(DType::F16, 7), 14u);
  EXPECT_FALSE(row_bytes(DType::F32, UINT64_MAX / 2).has_value());
}

TEST(Tensor, ByteCountIsChecked) {
  EXPECT_EQ(tensor_bytes(DType::F32, {3, 5}, "t"), 60u);
  EXPECT_EQ(tensor_bytes(DType::Q8_0, {2, 64}, "t"), 136u);
  EXPECT_THROW(tensor_bytes(DType::Q8_0, {2, 60}, "t"), Error);
  EXPECT_THROW(tensor_bytes(DType::F32, {1LL << 40, 1LL << 40, 1LL << 40}, "t"), Error);
  std::vector<std::byte> bytes(12);
  EXPECT_THROW(Tensor::owned("x", DType::F32, {2, 2}, bytes), Error);
  Tensor t = Tensor::owned("x", DType::F32, {3}, bytes);
  EXPECT_EQ(t.n_elements(), 3);
  EXPECT_EQ(t.to_f32(), std::vector<float>(3, 0.0f));
}

}  // namespace
}  // namespace slmkit
