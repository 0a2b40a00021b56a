//===- gemm_test.cc - Sgemm and the microkernel entry points --------------===//
#include "runtime/cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <tuple>
#include <vector>

#include "runtime/cpu/kernels.h"
#include "runtime/cpu/thread_pool.h"
#include "gtest/gtest.h"

namespace bathy::rt {
namespace {

std::vector<float> Random(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

/// Compares Sgemm (C starts non-zero: it must accumulate) with a naive
/// triple loop in double precision.
void CheckSgemm(int64_t m, int64_t n, int64_t k, bool transA, bool transB,
                ThreadPool *pool) {
  std::vector<float> a = Random(m * k, 1), b = Random(k * n, 2),
                     c = Random(m * n, 3);
  MatrixView av =
      transA ? MatrixView{a.data(), 1, m} : MatrixView{a.data(), k, 1};
  MatrixView bv =
      transB ? MatrixView{b.data(), 1, k} : MatrixView{b.data(), n, 1};
  std::vector<float> expected(c);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = expected[i * n + j];
      for (int64_t p = 0; p < k; ++p)
        s += double(av.data[i * av.row_stride + p * av.col_stride]) *
             bv.data[p * bv.row_stride + j * bv.col_stride];
      expected[i * n + j] = static_cast<float>(s);
    }
  Sgemm(m, n, k, av, bv, c.data(), n, 1, pool);
  for (int64_t i = 0; i < m * n; ++i)
    ASSERT_NEAR(c[i], expected[i], 1e-4 * (1 + std::sqrt(double(k))))
        << "m=" << m << " n=" << n << " k=" << k << " at " << i;
}

TEST(Sgemm, MatchesNaiveOnEdgeShapes) {
  for (int64_t m : {1, 5, 6, 7, 73})
    for (int64_t n : {1, 15, 16, 17, 530})
      for (int64_t k : {1, 3, 257})
        CheckSgemm(m, n, k, false, false, nullptr);
}

TEST(Sgemm, StridedOperandsAndThreads) {
  ThreadPool pool(3);
  CheckSgemm(100, 70, 300, true, false, &pool);
  CheckSgemm(64, 600, 40, false, true, &pool);
  CheckSgemm(13, 1000, 513, true, true, &pool);
}

TEST(Sgemm, PrepackedBMatchesPackingPerCall) {
  ThreadPool pool(3);
  for (auto [m, n, k] : {std::tuple{7, 530, 300}, std::tuple{64, 40, 513},
                         std::tuple{1, 17, 1}}) {
    std::vector<float> a = Random(m * k, 8), b = Random(k * n, 9);
    std::vector<float> c1(m * n, 0.0f), c2(m * n, 0.0f);
    MatrixView bv{b.data(), n, 1};
    std::vector<float> packed(PackedBSize(k, n));
    PackWholeB(k, n, bv, packed.data());
    Sgemm(m, n, k, {a.data(), k, 1}, bv, c1.data(), n, 1, &pool);
    Sgemm(m, n, k, {a.data(), k, 1}, bv, c2.data(), n, 1, &pool, packed.data());
    ASSERT_EQ(c1, c2) << "m=" << m << " n=" << n << " k=" << k;
  }
}

TEST(Sgemm, PrepackedAMatchesPackingPerCall) {
  ThreadPool pool(3);
  for (auto [m, n, k] : {std::tuple{70, 530, 300}, std::tuple{5, 200, 513},
                         std::tuple{13, 7, 1}}) {
    std::vector<float> a = Random(m * k, 16), b = Random(k * n, 17);
    std::vector<float> c1(m * n, 0.0f), c2(m * n, 0.0f);
    MatrixView av{a.data(), k, 1};
    std::vector<float> packed(PackedASize(m, k));
    PackWholeA(m, k, av, packed.data());
    Sgemm(m, n, k, av, {b.data(), n, 1}, c1.data(), n, 1, &pool);
    Sgemm(m, n, k, av, {b.data(), n, 1}, c2.data(), n, 1, &pool, nullptr,
          packed.data());
    for (size_t i = 0; i < c1.size(); ++i)
      ASSERT_NEAR(c1[i], c2[i], 1e-4) << "m=" << m << " n=" << n << " k=" << k;
  }
}

TEST(ThreadPool, RunsEveryTaskOnce) {
  ThreadPool pool(4);
  for (int round = 0; round < 50; ++round) {
    std::vector<int> hits(97, 0);
    pool.ParallelFor(97, [&](int64_t i) { hits[i]++; });
    for (int h : hits)
      ASSERT_EQ(h, 1);
  }
  // A loop issued from a task runs inline instead of deadlocking.
  std::vector<int> inner(8 * 8, 0);
  pool.ParallelFor(8, [&](int64_t i) {
    pool.ParallelFor(8, [&](int64_t j) { inner[i * 8 + j]++; });
  });
  for (int h : inner)
    ASSERT_EQ(h, 1);
}

/// Records the slices bathy_rt_parallel_for hands out.
struct SliceLog {
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> slices;
  std::vector<int> hits;
};

void LogSlice(void *ctx, int64_t begin, int64_t end) {
  auto *log = static_cast<SliceLog *>(ctx);
  std::lock_guard<std::mutex> lock(log->mu);
  log->slices.push_back({begin, end});
  for (int64_t i = begin; i < end; ++i)
    log->hits[i]++;
}

TEST(ParallelFor, SlicesCoverTheRangeOnceAndRespectTheGrain) {
  bathy_rt_set_num_threads(4);
  struct Case {
    int64_t size, grain, max_slices;
  };
  for (Case c : {Case{1000, 1, 4}, Case{1000, 400, 2}, Case{1000, 5000, 1},
                 Case{3, 1, 3}, Case{1, 1, 1}}) {
    SliceLog log;
    log.hits.assign(c.size, 0);
    bathy_rt_parallel_for(c.size, c.grain, &LogSlice, &log);
    for (int h : log.hits)
      ASSERT_EQ(h, 1) << "size " << c.size << " grain " << c.grain;
    EXPECT_EQ(static_cast<int64_t>(log.slices.size()), c.max_slices);
    if (log.slices.size() > 1) {
      for (auto [b, e] : log.slices)
        EXPECT_GE(e - b, std::min(c.grain, c.size));
    }
  }
  // Nothing to do: fn is not called.
  SliceLog empty;
  bathy_rt_parallel_for(0, 1, &LogSlice, &empty);
  EXPECT_TRUE(empty.slices.empty());
  bathy_rt_set_num_threads(0);
}

/// {allocated, aligned, offset, sizes, strides} for a contiguous array.
std::vector<int64_t> Descriptor(float *data, std::vector<int64_t> shape) {
  std::vector<int64_t> d(3 + 2 * shape.size());
  d[0] = reinterpret_cast<int64_t>(data);
  d[1] = reinterpret_cast<int64_t>(data);
  d[2] = 0;
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    d[3 + i] = shape[i];
    d[3 + shape.size() + i] = stride;
    stride *= shape[i];
  }
  return d;
}

TEST(Kernels, BatchedMatmulBroadcasts) {
  // a [2, 1, 3, 4] x b [5, 4, 6] -> out [2, 5, 3, 6]
  std::vector<float> a = Random(2 * 3 * 4, 4), b = Random(5 * 4 * 6, 5),
                     out(2 * 5 * 3 * 6, 0.0f);
  auto da = Descriptor(a.data(), {2, 1, 3, 4});
  auto db = Descriptor(b.data(), {5, 4, 6});
  auto dout = Descriptor(out.data(), {2, 5, 3, 6});
  bathy_rt_matmul_f32(4, da.data(), 3, db.data(), 4, dout.data());
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j)
      for (int r = 0; r < 3; ++r)
        for (int col = 0; col < 6; ++col) {
          float s = 0;
          for (int p = 0; p < 4; ++p)
            s += a[(i * 3 + r) * 4 + p] * b[(j * 4 + p) * 6 + col];
          ASSERT_NEAR(out[((i * 5 + j) * 3 + r) * 6 + col], s, 1e-5);
        }
}

/// out[r] = a[r] x b for `rows` rows of a and out at the given row strides.
void ExpectRowsTimesB(const std::vector<float> &a, int64_t a_stride,
                      const std::vector<float> &b,
                      const std::vector<float> &out, int64_t out_stride,
                      int64_t rows, int64_t k, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < n; ++col) {
      float s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += a[r * a_stride + p] * b[p * n + col];
      ASSERT_NEAR(out[r * out_stride + col], s, 1e-4) << "row " << r;
    }
}

TEST(Kernels, SharedWeightFoldsBatchesIntoRows) {
  // Sequence-first: a [7, 1, 20] x b [20, 9] -> out [7, 1, 9] (one GEMM of
  // 7 rows), and a [2, 3, 4, 20] -> out [2, 3, 4, 9] (24 rows).
  for (std::vector<int64_t> lead :
       {std::vector<int64_t>{7, 1}, std::vector<int64_t>{2, 3, 4}}) {
    int64_t rows = 1;
    for (int64_t v : lead)
      rows *= v;
    std::vector<float> a = Random(rows * 20, 21), b = Random(20 * 9, 22),
                       out(rows * 9, 0.0f);
    std::vector<int64_t> sa = lead, so = lead;
    sa.push_back(20);
    so.push_back(9);
    auto da = Descriptor(a.data(), sa);
    auto db = Descriptor(b.data(), {20, 9});
    auto dout = Descriptor(out.data(), so);
    bathy_rt_matmul_f32(sa.size(), da.data(), 2, db.data(), so.size(),
                        dout.data());
    ExpectRowsTimesB(a, 20, b, out, 9, rows, 20, 9);
  }
  // Rows not evenly strided (a is a [3, 2, 20] slice of a [3, 4, 20]
  // buffer): batch by batch, same result.
  std::vector<float> a = Random(3 * 4 * 20, 23), b = Random(20 * 9, 24),
                     out(3 * 2 * 9, 0.0f);
  auto da = Descriptor(a.data(), {3, 2, 20});
  da[3 + 3] = 80; // batch stride of the [3, 4, 20] buffer
  auto db = Descriptor(b.data(), {20, 9});
  auto dout = Descriptor(out.data(), {3, 2, 9});
  bathy_rt_matmul_f32(3, da.data(), 2, db.data(), 3, dout.data());
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t col = 0; col < 9; ++col) {
        float s = 0;
        for (int64_t p = 0; p < 20; ++p)
          s += a[i * 80 + r * 20 + p] * b[p * 9 + col];
        ASSERT_NEAR(out[(i * 2 + r) * 9 + col], s, 1e-4);
      }
}

TEST(Kernels, ConstantWeightsArePackedOnceAndDropped) {
  std::vector<float> a = Random(5 * 64, 10), w = Random(64 * 48, 11);
  std::vector<float> out1(5 * 48, 0.0f), out2(5 * 48, 0.0f);
  auto da = Descriptor(a.data(), {5, 64});
  auto dw = Descriptor(w.data(), {64, 48});
  auto d1 = Descriptor(out1.data(), {5, 48});
  auto d2 = Descriptor(out2.data(), {5, 48});
  bathy_rt_matmul_f32(2, da.data(), 2, dw.data(), 2, d1.data());
  bathy_rt_register_constant(w.data(), w.size() * sizeof(float));
  bathy_rt_matmul_f32(2, da.data(), 2, dw.data(), 2, d2.data());
  EXPECT_EQ(out1, out2);
  // After unregistering, new weight values must be read, not a stale pack.
  bathy_rt_unregister_constant(w.data());
  for (float &x : w)
    x = -x;
  std::fill(out2.begin(), out2.end(), 0.0f);
  bathy_rt_matmul_f32(2, da.data(), 2, dw.data(), 2, d2.data());
  for (size_t i = 0; i < out1.size(); ++i)
    ASSERT_NEAR(out2[i], -out1[i], 1e-5);
}

TEST(Kernels, Conv2dManyChannelsOnFourThreads) {
  // Workers fill the im2col buffer of the calling thread.
  ThreadPool::SetDefaultThreads(4);
  int64_t c = 32, h = 9, w = 9, f = 8;
  std::vector<float> x = Random(c * h * w, 12), wt = Random(f * c * 9, 13),
                     out(f * 7 * 7, 0.0f);
  auto dx = Descriptor(x.data(), {1, c, h, w});
  auto dw = Descriptor(wt.data(), {f, c, 3, 3});
  auto dout = Descriptor(out.data(), {1, f, 7, 7});
  bathy_rt_conv2d_f32(4, dx.data(), 4, dw.data(), 4, dout.data(), 1, 1, 1, 1, 0,
                      0);
  for (int64_t o = 0; o < f; ++o)
    for (int64_t y = 0; y < 7; ++y)
      for (int64_t xo = 0; xo < 7; ++xo) {
        double s = 0;
        for (int64_t ci = 0; ci < c; ++ci)
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b)
              s += double(x[(ci * h + y + a) * w + xo + b]) *
                   wt[((o * c + ci) * 3 + a) * 3 + b];
        ASSERT_NEAR(out[(o * 7 + y) * 7 + xo], s, 1e-3);
      }
  // The same with the weights registered as constant (packed once).
  std::vector<float> again(out.size(), 0.0f);
  auto dagain = Descriptor(again.data(), {1, f, 7, 7});
  bathy_rt_register_constant(wt.data(), wt.size() * sizeof(float));
  bathy_rt_conv2d_f32(4, dx.data(), 4, dw.data(), 4, dagain.data(), 1, 1, 1, 1,
                      0, 0);
  bathy_rt_unregister_constant(wt.data());
  for (size_t i = 0; i < out.size(); ++i)
    ASSERT_NEAR(again[i], out[i], 1e-4);
  ThreadPool::SetDefaultThreads(0);
}

/// x[i, ch, r, q] of a dense [*, c, h, w] tensor, 0 outside it (padding).
double PaddedAt(const std::vector<float> &x, int64_t c, int64_t h, int64_t w,
                int64_t i, int64_t ch, int64_t r, int64_t q) {
  if (r < 0 || r >= h || q < 0 || q >= w)
    return 0.0;
  return x[((i * c + ch) * h + r) * w + q];
}

TEST(Kernels, DepthwiseConv2dMatchesDirectLoops) {
  struct Case {
    int64_t n, c, h, w, kh, kw, sh, sw, dh, dw;
    int64_t pt, pb, pl, pr; // zero padding read in place (0 if omitted)
  };
  for (Case t : {Case{1, 5, 9, 11, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
                 Case{2, 3, 10, 10, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},
                 Case{1, 4, 12, 12, 5, 3, 1, 2, 2, 1, 0, 0, 0, 0},
                 // Rows of whole 8-output blocks plus a remainder.
                 Case{1, 3, 6, 37, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
                 Case{2, 2, 7, 41, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},
                 Case{1, 2, 9, 30, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0},
                 // Padding on every side, uneven, with strides/dilations.
                 Case{1, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
                 Case{2, 2, 10, 11, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0},
                 Case{1, 2, 8, 8, 5, 5, 1, 2, 2, 1, 2, 3, 2, 2}}) {
    int64_t oh = (t.h + t.pt + t.pb - t.dh * (t.kh - 1) - 1) / t.sh + 1;
    int64_t ow = (t.w + t.pl + t.pr - t.dw * (t.kw - 1) - 1) / t.sw + 1;
    std::vector<float> x = Random(t.n * t.c * t.h * t.w, 14),
                       w = Random(t.c * t.kh * t.kw, 15),
                       out(t.n * t.c * oh * ow, 0.25f);
    std::vector<float> expected(out);
    for (int64_t i = 0; i < t.n; ++i)
      for (int64_t ch = 0; ch < t.c; ++ch)
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t xo = 0; xo < ow; ++xo) {
            double s = 0;
            for (int64_t a = 0; a < t.kh; ++a)
              for (int64_t b = 0; b < t.kw; ++b)
                s += PaddedAt(x, t.c, t.h, t.w, i, ch,
                              y * t.sh + a * t.dh - t.pt,
                              xo * t.sw + b * t.dw - t.pl) *
                     w[(ch * t.kh + a) * t.kw + b];
            expected[((i * t.c + ch) * oh + y) * ow + xo] += float(s);
          }
    auto dx = Descriptor(x.data(), {t.n, t.c, t.h, t.w});
    auto dw = Descriptor(w.data(), {t.c, 1, t.kh, t.kw});
    auto dout = Descriptor(out.data(), {t.n, t.c, oh, ow});
    bathy_rt_dwconv2d_f32(4, dx.data(), 4, dw.data(), 4, dout.data(), t.sh,
                          t.sw, t.dh, t.dw, t.pt, t.pl);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], expected[i], 1e-4) << "at " << i;
  }
}

TEST(Kernels, Conv2dMatchesDirectLoops) {
  struct Case {
    int64_t n, c, h, w, f, kh, kw, sh, sw, dh, dw;
    int64_t pt, pb, pl, pr; // zero padding read in place (0 if omitted)
  };
  for (Case t : {Case{1, 3, 9, 11, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
                 Case{2, 5, 10, 10, 7, 3, 2, 2, 3, 1, 1, 0, 0, 0, 0},
                 Case{1, 4, 12, 12, 6, 3, 3, 1, 1, 2, 2, 0, 0, 0, 0},
                 Case{2, 8, 5, 6, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
                 Case{1, 8, 7, 7, 16, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0},
                 // Padding: same-size 3x3, uneven with strides, 7x7 stem-like,
                 // and a padded 1x1 (no in-place pointwise shortcut).
                 Case{1, 3, 9, 11, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
                 Case{2, 5, 10, 10, 7, 3, 2, 2, 3, 1, 1, 0, 1, 1, 0},
                 Case{1, 3, 16, 16, 4, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},
                 Case{1, 4, 5, 5, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1}}) {
    int64_t oh = (t.h + t.pt + t.pb - t.dh * (t.kh - 1) - 1) / t.sh + 1;
    int64_t ow = (t.w + t.pl + t.pr - t.dw * (t.kw - 1) - 1) / t.sw + 1;
    std::vector<float> x = Random(t.n * t.c * t.h * t.w, 6),
                       w = Random(t.f * t.c * t.kh * t.kw, 7),
                       out(t.n * t.f * oh * ow, 0.5f);
    std::vector<float> expected(out);
    for (int64_t i = 0; i < t.n; ++i)
      for (int64_t f = 0; f < t.f; ++f)
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t xo = 0; xo < ow; ++xo) {
            double s = 0;
            for (int64_t ci = 0; ci < t.c; ++ci)
              for (int64_t a = 0; a < t.kh; ++a)
                for (int64_t b = 0; b < t.kw; ++b)
                  s += PaddedAt(x, t.c, t.h, t.w, i, ci,
                                y * t.sh + a * t.dh - t.pt,
                                xo * t.sw + b * t.dw - t.pl) *
                       w[((f * t.c + ci) * t.kh + a) * t.kw + b];
            expected[((i * t.f + f) * oh + y) * ow + xo] += float(s);
          }
    auto dx = Descriptor(x.data(), {t.n, t.c, t.h, t.w});
    auto dw = Descriptor(w.data(), {t.f, t.c, t.kh, t.kw});
    auto dout = Descriptor(out.data(), {t.n, t.f, oh, ow});
    bathy_rt_conv2d_f32(4, dx.data(), 4, dw.data(), 4, dout.data(), t.sh, t.sw,
                        t.dh, t.dw, t.pt, t.pl);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], expected[i], 1e-4) << "case c=" << t.c << " at " << i;
  }
}

} // namespace
} // namespace bathy::rt
