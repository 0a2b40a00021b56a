//===- attention_test.cc - The fused attention kernel against a naive one -===//
#include "runtime/cpu/attention.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace bathy::rt {
namespace {

/// A dense tensor with explicit strides, viewable as a MemRefView.
struct Tensor {
  std::vector<float> data;
  std::vector<int64_t> sizes, strides;
  MemRefView View() {
    return {data.data(), static_cast<int64_t>(sizes.size()), sizes.data(),
            strides.data()};
  }
  float &At(const std::vector<int64_t> &idx) {
    int64_t off = 0;
    for (size_t i = 0; i < idx.size(); ++i)
      off += idx[i] * strides[i];
    return data[off];
  }
};

/// Row-major storage in the order `layout` (a permutation of the dims),
/// filled with seeded random values in [-1, 1].
Tensor Make(std::vector<int64_t> sizes, unsigned seed,
            std::vector<int64_t> layout = {}) {
  if (layout.empty())
    for (size_t i = 0; i < sizes.size(); ++i)
      layout.push_back(i);
  Tensor t;
  t.sizes = sizes;
  t.strides.assign(sizes.size(), 0);
  int64_t stride = 1;
  for (size_t i = layout.size(); i-- > 0;) {
    t.strides[layout[i]] = stride;
    stride *= sizes[layout[i]];
  }
  t.data.resize(stride);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float &x : t.data)
    x = dist(gen);
  return t;
}

struct Case {
  int64_t batch, hq, hkv, sq, sk, d, dv;
  int mask_rank = 0; // 0: none; 2: [Sq, Sk]; 4: [B, 1, Sq, Sk]
  int causal = 0;
  float softcap = 0.0f;
  bool strided = false;   // q, k, v, out stored as [B, S, H, D]
  bool shared_kv = false; // k and v have batch 1, broadcast to every batch
  bool fill = false;      // a 0/-inf mask whose -inf scores become -1e4
};

/// Runs the kernel and compares it with softmax computed in double.
void Check(const Case &c) {
  std::vector<int64_t> bshd =
      c.strided ? std::vector<int64_t>{0, 2, 1, 3} : std::vector<int64_t>{};
  Tensor q = Make({c.batch, c.hq, c.sq, c.d}, 1, bshd),
         k = Make({c.shared_kv ? 1 : c.batch, c.hkv, c.sk, c.d}, 2, bshd),
         v = Make({c.shared_kv ? 1 : c.batch, c.hkv, c.sk, c.dv}, 3, bshd),
         out = Make({c.batch, c.hq, c.sq, c.dv}, 4, bshd);
  Tensor mask;
  if (c.mask_rank == 2)
    mask = Make({c.sq, c.sk}, 5);
  if (c.mask_rank == 4)
    mask = Make({c.batch, 1, c.sq, c.sk}, 5);
  for (float &x : mask.data) // a padding-style mask: some keys very negative
    x = x < -0.6f ? -1e9f : x;
  if (c.fill) // masked_fill: 0 or -inf, whole rows masked now and then
    for (size_t i = 0; i < mask.data.size(); ++i)
      mask.data[i] = (mask.data[i] < 0.2f || (i / c.sk) % 5 == 0)
                         ? -std::numeric_limits<float>::infinity()
                         : 0.0f;
  const float scale = 1.0f / std::sqrt(float(c.d));
  AttentionArgs args;
  args.q = q.View();
  args.k = k.View();
  args.v = v.View();
  args.out = out.View();
  if (c.mask_rank)
    args.mask = mask.View();
  args.scale = scale;
  args.softcap = c.softcap;
  args.causal = c.causal;
  if (c.fill)
    args.masked_score = -1e4f;
  Attention(args);

  const int64_t group = c.hq / c.hkv;
  const int64_t offset = c.causal == 1 ? 0 : c.sk - c.sq;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.hq; ++h)
      for (int64_t i = 0; i < c.sq; ++i) {
        std::vector<double> s(c.sk);
        double mx = -INFINITY;
        for (int64_t j = 0; j < c.sk; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < c.d; ++e)
            dot += double(q.At({b, h, i, e})) *
                   k.At({c.shared_kv ? 0 : b, h / group, j, e});
          dot *= scale;
          if (c.softcap > 0)
            dot = c.softcap * std::tanh(dot / c.softcap);
          double m = c.mask_rank == 2   ? mask.At({i, j})
                     : c.mask_rank == 4 ? mask.At({b, 0, i, j})
                                        : 0.0;
          dot = c.fill && std::isinf(m) ? -1e4 : dot + m;
          if (c.causal && j > i + offset)
            dot = -INFINITY;
          s[j] = dot;
          mx = std::max(mx, dot);
        }
        for (int64_t e = 0; e < c.dv; ++e) {
          double num = 0, den = 0;
          for (int64_t j = 0; j < c.sk; ++j) {
            double p = std::exp(s[j] - mx);
            num += p * v.At({c.shared_kv ? 0 : b, h / group, j, e});
            den += p;
          }
          float got = out.At({b, h, i, e});
          if (mx == -INFINITY) {
            ASSERT_TRUE(std::isnan(got)) << "row " << i << " sees no key";
            continue;
          }
          ASSERT_NEAR(got, num / den, 2e-5)
              << "b=" << b << " h=" << h << " i=" << i << " e=" << e
              << " (sq=" << c.sq << " sk=" << c.sk << " mask=" << c.mask_rank
              << " causal=" << c.causal << ")";
        }
      }
}

TEST(Attention, MatchesNaiveOverBlockEdges) {
  for (int64_t sq : {1, 5, 49, 100})
    for (int64_t sk : {1, 7, 64, 130})
      Check({1, 2, 2, sq, sk, 20, 24});
}

TEST(Attention, GroupedQueryHeadsAndMasks) {
  for (int mask : {0, 2, 4})
    Check({2, 6, 2, 37, 90, 16, 16, mask});
}

TEST(Attention, CausalAlignments) {
  for (int causal : {1, 2})
    for (auto [sq, sk] :
         {std::pair<int64_t, int64_t>{40, 40}, {9, 70}, {70, 9}, {1, 129}})
      Check({1, 4, 1, sq, sk, 8, 8, 4, causal});
}

TEST(Attention, SoftcapAndStridedLayouts) {
  Check({2, 4, 2, 19, 45, 32, 32, 2, 0, 3.0f, true});
  Check({1, 3, 3, 64, 64, 64, 64, 0, 1, 0.0f, true});
}

TEST(Attention, BroadcastLeadingDims) {
  Case c{3, 4, 2, 10, 20, 8, 8, 4};
  c.shared_kv = true;
  Check(c);
}

TEST(Attention, MaskedScoreFillsFullyMaskedRows) {
  Case c{2, 4, 2, 20, 70, 16, 16, 4};
  c.fill = true;
  Check(c);
}

TEST(Attention, NoKeysGivesZeros) {
  Tensor q = Make({1, 2, 3, 4}, 1), k = Make({1, 2, 0, 4}, 2),
         v = Make({1, 2, 0, 4}, 3), out = Make({1, 2, 3, 4}, 4);
  AttentionArgs args;
  args.q = q.View();
  args.k = k.View();
  args.v = v.View();
  args.out = out.View();
  Attention(args);
  for (float x : out.data)
    EXPECT_EQ(x, 0.0f);
}

} // namespace
} // namespace bathy::rt
