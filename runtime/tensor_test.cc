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

/// ResizeCorner against an element-by-element reference, on every pair of
/// shapes from a set of small ones (rank 0 to 3, zero-sized dims included).
TEST(HostTensorTest, ResizeCornerPadsAndCuts) {
  std::vector<std::vector<int64_t>> shapes = {
      {}, {0}, {1}, {3}, {5}, {2, 3}, {3, 1}, {0, 2}, {2, 2, 2}, {1, 3, 2}};
  for (const auto &from : shapes)
    for (const auto &to : shapes) {
      if (from.size() != to.size())
        continue;
      absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kI32, from);
      ASSERT_TRUE(t.ok());
      for (int64_t i = 0; i < t->num_elements(); ++i)
        t->data_as<int32_t>()[i] = static_cast<int32_t>(i + 1);
      absl::StatusOr<HostTensor> r = ResizeCorner(*t, to, -7);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->shape(), to);
      for (int64_t i = 0; i < r->num_elements(); ++i) {
        // The index of element i in `to`, and whether `from` has it.
        int64_t rest = i, src = 0, stride = 1;
        bool inside = true;
        for (size_t d = to.size(); d-- > 0;) {
          int64_t k = rest % to[d];
          rest /= to[d];
          inside &= k < from[d];
          src += k * stride;
          stride *= from[d];
        }
        int32_t want = inside ? static_cast<int32_t>(src + 1) : -7;
        ASSERT_EQ(r->data_as<int32_t>()[i], want)
            << ShapeToString(from) << " -> " << ShapeToString(to) << " at "
            << i;
      }
    }
  absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kF32, {2});
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(ResizeCorner(*t, {2, 1}, 0).ok());
}

TEST(HostTensorTest, FillConvertsAndSaturates) {
  auto filled = [](DType d, double v) {
    absl::StatusOr<HostTensor> t = HostTensor::Create(d, {3});
    EXPECT_TRUE(t.ok());
    t->Fill(v);
    return std::move(*t);
  };
  EXPECT_EQ(filled(DType::kI8, 300).data_as<int8_t>()[2], 127);
  EXPECT_EQ(filled(DType::kU8, -5).data_as<uint8_t>()[0], 0);
  EXPECT_EQ(filled(DType::kI64, -2.7).data_as<int64_t>()[1], -2);
  EXPECT_EQ(filled(DType::kI32, std::nan("")).data_as<int32_t>()[0], 0);
  EXPECT_EQ(filled(DType::kBool, 0.5).data_as<uint8_t>()[0], 1);
  EXPECT_EQ(filled(DType::kF32, 0.25).data_as<float>()[2], 0.25f);
  EXPECT_EQ(filled(DType::kF16, 1.0).data_as<uint16_t>()[0], 0x3c00);
  EXPECT_EQ(filled(DType::kBF16, -2.0).data_as<uint16_t>()[0], 0xc000);
  EXPECT_EQ(filled(DType::kF64, 1e300).data_as<double>()[0], 1e300);
}

} // namespace
} // namespace bathy::rt
