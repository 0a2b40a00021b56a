//===- ShapeRulesTest.cpp - Shape rules against brute-force references ----===//
//
// The rules in ShapeRules.h decide buffer sizes in inference and lowering
// alike, so a wrong count is a wrong buffer. These tests compare them with
// references written the slow, obvious way, on adversarial values: bounds
// at the ends of int64, negative and huge steps, empty dims.
//
//===----------------------------------------------------------------------===//
#include "bathy/Dialect/Bathy/ShapeRules.h"
#include "bathy/Dialect/Bathy/ShapeUtils.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace {

using bathy::StaticArith;
using bathy::shape::sliceAxis;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

/// ONNX Slice by enumeration: the indices a Python-style walk visits.
struct Walk {
  int64_t first = 0;
  int64_t count = 0;
};

Walk referenceSlice(int64_t dim, int64_t start, int64_t end, int64_t step) {
  // Negative bounds count from the end (in 128 bits: no overflow here).
  __int128 s = start, e = end;
  if (s < 0)
    s += dim;
  if (e < 0)
    e += dim;
  Walk w;
  if (step > 0) {
    s = std::clamp<__int128>(s, 0, dim);
    e = std::clamp<__int128>(e, 0, dim);
    for (__int128 i = s; i < e; i += step) {
      if (w.count == 0)
        w.first = static_cast<int64_t>(i);
      ++w.count;
    }
  } else {
    s = std::clamp<__int128>(s, 0, dim - 1);
    e = std::clamp<__int128>(e, -1, dim - 1);
    for (__int128 i = s; i > e; i += step) {
      if (w.count == 0)
        w.first = static_cast<int64_t>(i);
      ++w.count;
    }
  }
  return w;
}

void expectSliceMatches(int64_t dim, int64_t start, int64_t end,
                        int64_t step) {
  StaticArith ops;
  auto [offset, count] = sliceAxis(ops, dim, start, end, step);
  Walk w = referenceSlice(dim, start, end, step);
  EXPECT_EQ(count, w.count) << "dim " << dim << " start " << start << " end "
                            << end << " step " << step;
  EXPECT_EQ(offset, w.first) << "dim " << dim << " start " << start
                             << " end " << end << " step " << step;
  EXPECT_GE(offset, 0);
  EXPECT_LE(offset, dim);
}

TEST(ShapeRules, SliceAgreesWithEnumerationOnEdgeValues) {
  const int64_t dims[] = {0, 1, 2, 3, 7, 64};
  const int64_t bounds[] = {kMin, kMin + 1, -65, -8, -7, -3, -1, 0, 1, 2,
                            3,    6,        7,   8,  64, 65, kMax - 1, kMax};
  const int64_t steps[] = {kMin, -65, -3, -2, -1, 1, 2, 3, 65, kMax};
  for (int64_t dim : dims)
    for (int64_t start : bounds)
      for (int64_t end : bounds)
        for (int64_t step : steps) {
          // Enumeration of a huge walk is cheap: clamping bounds it by dim.
          expectSliceMatches(dim, start, end, step);
        }
}

TEST(ShapeRules, SliceAgreesWithEnumerationOnRandomValues) {
  std::mt19937_64 rng(20261201);
  std::uniform_int_distribution<int64_t> small(-40, 40);
  std::uniform_int_distribution<int64_t> dimDist(0, 30);
  for (int i = 0; i < 20000; ++i) {
    int64_t step = small(rng);
    if (step == 0)
      step = 1;
    expectSliceMatches(dimDist(rng), small(rng), small(rng), step);
  }
}

/// ceil((limit - start) / delta) in 128 bits, 0 when negative.
__int128 referenceRangeCount(int64_t start, int64_t limit, int64_t delta) {
  __int128 distance = static_cast<__int128>(limit) - start;
  __int128 q = distance / delta;
  if (distance % delta != 0 && ((distance < 0) == (delta < 0)))
    ++q;
  return q < 0 ? 0 : q;
}

TEST(ShapeRules, RangeCountIsExactAcrossInt64) {
  const int64_t values[] = {kMin, kMin + 1, -(int64_t{1} << 62), -1000, -7,
                            -1,   0,        1,   7,   1000, int64_t{1} << 60,
                            (int64_t{1} << 60) + 10, kMax - 1, kMax};
  const int64_t deltas[] = {kMin, -(int64_t{1} << 61), -3, -1, 1, 2, 3,
                            int64_t{2000000000000000000}, kMax};
  StaticArith ops;
  for (int64_t start : values)
    for (int64_t limit : values)
      for (int64_t delta : deltas) {
        __int128 want = referenceRangeCount(start, limit, delta);
        int64_t got = bathy::shape::rangeCount(ops, start, limit, delta);
        if (want > kMax)
          EXPECT_LT(got, 0) << start << " " << limit << " " << delta;
        else
          EXPECT_EQ(got, static_cast<int64_t>(want))
              << start << " " << limit << " " << delta;
      }
}

TEST(ShapeRules, StaticBroadcastIsNumPys) {
  auto join = [](int64_t a, int64_t b) { return bathy::joinStaticSizes(a, b); };
  using V = llvm::SmallVector<int64_t>;
  const int64_t dyn = bathy::kDyn;
  auto bc = [&](llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b) {
    int64_t rank = std::max(a.size(), b.size());
    return bathy::shape::broadcast<int64_t>({a, b}, rank, int64_t{1}, join);
  };
  EXPECT_EQ(bc(V{3, 1, 5}, V{4, 1}), (V{3, 4, 5}));
  EXPECT_EQ(bc(V{}, V{2, 3}), (V{2, 3}));
  EXPECT_EQ(bc(V{dyn, 1}, V{1, dyn}), (V{dyn, dyn}));
  EXPECT_EQ(bc(V{dyn}, V{7}), (V{7}));
  EXPECT_EQ(bc(V{0}, V{1}), (V{0}));
  EXPECT_FALSE(bc(V{2}, V{3}).has_value());
  EXPECT_FALSE(bc(V{0}, V{3}).has_value());
}

TEST(ShapeRules, ConcatSumsTheAxisAndKeepsTheRest) {
  using V = llvm::SmallVector<int64_t>;
  const int64_t dyn = bathy::kDyn;
  auto same = [](int64_t a, int64_t b) { return a == dyn ? b : a; };
  auto add = [](int64_t a, int64_t b) {
    return a == dyn || b == dyn ? dyn : a + b;
  };
  V a{2, dyn, 4}, b{2, 5, 1}, c{dyn, 5, 0};
  EXPECT_EQ(bathy::shape::concat<int64_t>({a, b, c}, 2, 0, same, add),
            (V{2, 5, 5}));
  EXPECT_EQ(bathy::shape::concat<int64_t>({a, b}, 1, 0, same, add),
            (V{2, dyn, 4}));
  EXPECT_EQ(bathy::shape::concat<int64_t>({b}, 0, 0, same, add), b);
}

} // namespace
