//===- kernels_test.cc - Tests of the C entry points kernels call ---------===//
#include "runtime/cpu/kernels.h"

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/cpu/entry_points.h"

namespace {

/// A memref descriptor of rank N as generated code lays it out.
template <int N> struct Descriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[N > 0 ? N : 1];
  int64_t strides[N > 0 ? N : 1];
};

TEST(MemrefCopy, CopiesBetweenStridedLayouts) {
  // src: a 3x4 view at offset 1 of rows of 5 floats; dst: its transpose's
  // layout (column-major 3x4).
  std::vector<float> src(20);
  std::iota(src.begin(), src.end(), 0.0f);
  std::vector<float> dst(12, -1.0f);
  Descriptor<2> s{src.data(), src.data(), 1, {3, 4}, {5, 1}};
  Descriptor<2> d{dst.data(), dst.data(), 0, {3, 4}, {1, 3}};
  bathy_rt_unranked_memref us{2, &s}, ud{2, &d};
  bathy_rt_memref_copy(sizeof(float), &us, &ud);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(dst[j * 3 + i], src[1 + i * 5 + j]) << i << "," << j;
}

TEST(MemrefCopy, RankZeroCopiesOneElementAndEmptyCopiesNothing) {
  int64_t a = 7, b = 0;
  Descriptor<0> s{&a, &a, 0, {0}, {0}}, d{&b, &b, 0, {0}, {0}};
  bathy_rt_unranked_memref us{0, &s}, ud{0, &d};
  bathy_rt_memref_copy(sizeof(int64_t), &us, &ud);
  EXPECT_EQ(b, 7);
  std::vector<float> x(4, 1.0f), y(4, 2.0f);
  Descriptor<2> es{x.data(), x.data(), 0, {2, 0}, {2, 1}};
  Descriptor<2> ed{y.data(), y.data(), 0, {2, 0}, {2, 1}};
  bathy_rt_unranked_memref ues{2, &es}, ued{2, &ed};
  bathy_rt_memref_copy(sizeof(float), &ues, &ued);
  EXPECT_EQ(y, std::vector<float>(4, 2.0f));
}

TEST(KernelSymbols, EveryEntryPointGeneratedCodeCallsIsExported) {
  int count = 0;
  const bathy::rt::KernelSymbol *symbols = bathy::rt::KernelSymbols(&count);
  namespace entry = bathy::rt::entry;
  for (const char *name :
       {entry::kFail, entry::kAlloc, entry::kFree, entry::kParallelFor,
        entry::kSetNumThreads, entry::kRegisterConstant,
        entry::kUnregisterConstant, entry::kMemrefCopy, entry::kMatmulF32,
        entry::kConv2dF32, entry::kDwConv2dF32, entry::kAttentionF32,
        entry::kAttentionMaskedF32}) {
    bool found = false;
    for (int i = 0; i < count; ++i)
      found |= std::strcmp(symbols[i].name, name) == 0 &&
               symbols[i].address != nullptr;
    EXPECT_TRUE(found) << name;
  }
}

} // namespace
