//===- tensor_test.cc - Tests for host tensors and element types ----------===//
#include "runtime/tensor.h"

#include <limits>

#include "gtest/gtest.h"

namespace bathy::rt {
namespace {

TEST(DTypeTest, NamesRoundTrip) {
  for (DType d :
       {DType::kBool, DType::kI8, DType::kU8, DType::kI16, DType::kU16,
        DType::kI32, DType::kU32, DType::kI64, DType::kU64, DType::kF16,
        DType::kBF16, DType::kF32, DType::kF64}) {
    absl::StatusOr<DType> back = DTypeFromName(DTypeName(d));
    ASSERT_TRUE(back.ok()) << DTypeName(d);
    EXPECT_EQ(*back, d);
  }
  EXPECT_EQ(DTypeSize(DType::kF16), 2u);
  EXPECT_EQ(DTypeSize(DType::kI64), 8u);
  EXPECT_FALSE(DTypeFromName("complex64").ok());
}

TEST(HostTensorTest, CreateIsZeroFilled) {
  absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kF32, {2, 3});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->num_elements(), 6);
  EXPECT_EQ(t->size_bytes(), 24u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(t->data_as<float>()[i], 0.0f);
}

TEST(HostTensorTest, ScalarHasOneElement) {
  absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kI64, {});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->num_elements(), 1);
  EXPECT_EQ(t->rank(), 0);
}

TEST(HostTensorTest, RejectsNegativeDim) {
  absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kF32, {2, -1});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("dimension 1"), std::string::npos)
      << t.status();
}

TEST(HostTensorTest, RejectsOverflowingShape) {
  int64_t big = std::numeric_limits<int64_t>::max() / 2;
  absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kF32, {big, 4});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("too many elements"), std::string::npos)
      << t.status();
}

} // namespace
} // namespace bathy::rt
