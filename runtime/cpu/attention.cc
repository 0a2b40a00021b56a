//===- attention.cc - Fused scaled dot-product attention for the CPU ------===//
//
// Flash-attention style: for each (batch, head, block of queries) the scores
// are computed one block of keys at a time and folded into running softmax
// statistics (row max m, row sum l) and a running output accumulator, so the
// [Sq, Sk] score matrix is never materialised. The two products per block
// (Q·Kᵀ and P·V) go through one 6x16 register-blocked tile kernel over
// packed, zero-padded operands; exp is a vectorised polynomial on AVX2.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/cpu/attention.h"
#include "runtime/cpu/tile_avx2.h"
#include "runtime/cpu/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BATHY_X86 1
#endif

namespace bathy::rt {
namespace {

constexpr int64_t kRows = 48; // queries per block
constexpr int64_t kKeys = 64; // keys per block
constexpr int64_t kTileM = kTileRows, kTileN = kTileCols;

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/// c[6 x 16] (+)= a[6 x depth] * b[depth x 16]; rows of a at stride lda,
/// rows of b at stride ldb, rows of c at stride ldc.
void TilePortable(int64_t depth, const float *a, int64_t lda, const float *b,
                  int64_t ldb, float *c, int64_t ldc, bool accumulate) {
  float acc[kTileM][kTileN] = {};
  for (int64_t k = 0; k < depth; ++k)
    for (int64_t r = 0; r < kTileM; ++r) {
      float x = a[r * lda + k];
      for (int64_t j = 0; j < kTileN; ++j)
        acc[r][j] += x * b[k * ldb + j];
    }
  for (int64_t r = 0; r < kTileM; ++r)
    for (int64_t j = 0; j < kTileN; ++j)
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

/// Replaces s[0, n) by exp(s - m) and returns their sum.
float ExpRowPortable(float *s, int64_t n, float m) {
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    s[j] = std::exp(s[j] - m);
    sum += s[j];
  }
  return sum;
}

float MaxRowPortable(const float *s, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j)
    m = std::max(m, s[j]);
  return m;
}

#if BATHY_X86
__attribute__((target("avx2,fma"))) void
TileAvx2(int64_t depth, const float *a, int64_t lda, const float *b,
         int64_t ldb, float *c, int64_t ldc, bool accumulate) {
  const float *rows_a[kTileRows] = {a,           a + lda,     a + 2 * lda,
                                    a + 3 * lda, a + 4 * lda, a + 5 * lda};
  const Tile6x16 tile = Fma6x16(depth, rows_a, 1, b, ldb);
  const auto &rows = tile.c;
  for (int64_t r = 0; r < kTileM; ++r)
    for (int64_t h = 0; h < 2; ++h) {
      float *dst = c + r * ldc + h * 8;
      __m256 v = rows[r][h];
      if (accumulate)
        v = _mm256_add_ps(v, _mm256_loadu_ps(dst));
      _mm256_storeu_ps(dst, v);
    }
}

/// exp(x) for x <= 0 (and -inf, NaN): 2^n * p(r) with n = round(x / ln 2),
/// r = x - n ln 2 and p a degree-7 polynomial; 0 below -87.
__attribute__((target("avx2,fma"))) inline __m256 Exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.0f);
  __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(lo, x); // NaN stays NaN (second operand)
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  p = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(underflow, p);
}

__attribute__((target("avx2,fma"))) float ExpRowAvx2(float *s, int64_t n,
                                                     float m) {
  __m256 vm = _mm256_set1_ps(m), sum = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 p = Exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
    _mm256_storeu_ps(s + j, p);
    sum = _mm256_add_ps(sum, p);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  float total = 0.0f;
  for (float x : lanes)
    total += x;
  for (; j < n; ++j) {
    s[j] = std::exp(s[j] - m);
    total += s[j];
  }
  return total;
}

__attribute__((target("avx2,fma"))) float MaxRowAvx2(const float *s,
                                                     int64_t n) {
  __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    vm = _mm256_max_ps(vm, _mm256_loadu_ps(s + j));
  float lanes[8];
  _mm256_storeu_ps(lanes, vm);
  float m = lanes[0];
  for (float x : lanes)
    m = std::max(m, x);
  for (; j < n; ++j)
    m = std::max(m, s[j]);
  return m;
}

bool HasAvx2() {
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

struct Kernels {
  void (*tile)(int64_t, const float *, int64_t, const float *, int64_t, float *,
               int64_t, bool);
  float (*exp_row)(float *, int64_t, float);
  float (*max_row)(const float *, int64_t);
};

Kernels PickKernels() {
#if BATHY_X86
  if (HasAvx2())
    return {TileAvx2, ExpRowAvx2, MaxRowAvx2};
#endif
  return {TilePortable, ExpRowPortable, MaxRowPortable};
}

/// Per-thread scratch, grown on demand.
struct Scratch {
  std::vector<float> q, kt, v, s, acc, m, l;
};

} // namespace

void Attention(const AttentionArgs &args) {
  const MemRefView &q = args.q, &k = args.k, &v = args.v, &o = args.out;
  const int64_t rank = o.rank;
  const int64_t hq = q.sizes[rank - 3], hkv = k.sizes[rank - 3];
  const int64_t sq = q.sizes[rank - 2], sk = k.sizes[rank - 2];
  const int64_t d = q.sizes[rank - 1], dv = v.sizes[rank - 1];
  int64_t batch = 1;
  for (int64_t i = 0; i < rank - 3; ++i)
    batch *= o.sizes[i];
  if (batch == 0 || hq == 0 || sq == 0 || dv == 0)
    return;
  if (sk == 0) { // softmax over no keys weighs nothing
    for (int64_t t = 0; t < batch * hq * sq; ++t) {
      int64_t off = 0;
      for (int64_t i = rank - 2, rest = t; i >= 0; --i) {
        off += rest % o.sizes[i] * o.strides[i];
        rest /= o.sizes[i];
      }
      for (int64_t c = 0; c < dv; ++c)
        o.data[off + c * o.strides[rank - 1]] = 0.0f;
    }
    return;
  }
  const int64_t group = hkv > 0 ? hq / hkv : 1;
  // The mask's stride for the head, query and key dims (0 where it
  // broadcasts); leading dims are indexed below.
  std::vector<int64_t> maskStride(rank, 0);
  if (args.mask.data)
    for (int64_t i = 0; i < args.mask.rank; ++i) {
      int64_t dim = rank - args.mask.rank + i;
      if (dim >= rank - 3 && args.mask.sizes[i] != 1)
        maskStride[dim] = args.mask.strides[i];
    }
  const int64_t causalOffset = args.causal == 1   ? 0
                               : args.causal == 2 ? sk - sq
                                                  : sk;
  const int64_t blocks = (sq + kRows - 1) / kRows;
  const Kernels kern = PickKernels();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const float fill = args.masked_score;
  ThreadPool &pool = ThreadPool::Default();
  // Each task takes a run of query blocks of one (batch, head) and packs
  // that head's keys and values once: enough runs per head to give every
  // thread a few tasks, no more.
  const int64_t heads = batch * hq;
  const int64_t chunks = std::clamp<int64_t>(
      (4 * pool.num_threads() + heads - 1) / heads, 1, blocks);

  pool.ParallelFor(heads * chunks, [&](int64_t t) {
    thread_local Scratch sc;
    const int64_t b = t / (hq * chunks), h = t / chunks % hq,
                  chunk = t % chunks;
    const int64_t firstBlock = chunk * blocks / chunks,
                  endBlock = (chunk + 1) * blocks / chunks;
    if (firstBlock == endBlock)
      return;
    const int64_t kvh = h / group;
    // Offsets of this (batch, head) in every operand. Leading dims
    // broadcast: an operand's index is clamped to its size (size 1: 0).
    int64_t qOff = 0, kOff = 0, vOff = 0, oOff = 0, mOff = 0;
    auto at = [](const MemRefView &x, int64_t dim, int64_t idx) {
      return std::min(idx, x.sizes[dim] - 1) * x.strides[dim];
    };
    for (int64_t i = rank - 4, rest = b; i >= 0; --i) {
      int64_t idx = rest % o.sizes[i];
      rest /= o.sizes[i];
      qOff += at(q, i, idx);
      kOff += at(k, i, idx);
      vOff += at(v, i, idx);
      oOff += idx * o.strides[i];
      if (int64_t j = i - (rank - args.mask.rank); args.mask.data && j >= 0)
        mOff += at(args.mask, j, idx);
    }
    qOff += h * q.strides[rank - 3];
    kOff += kvh * k.strides[rank - 3];
    vOff += kvh * v.strides[rank - 3];
    oOff += h * o.strides[rank - 3];
    mOff += h * maskStride[rank - 3];

    // Keys a query of row i may see: [0, min(Sk, i + 1 + causalOffset)).
    auto keysFor = [&](int64_t row) {
      return std::clamp<int64_t>(row + 1 + causalOffset, 0, sk);
    };
    const int64_t lastRow = std::min(sq, endBlock * kRows) - 1;
    const int64_t packedKeys = keysFor(lastRow);
    const int64_t keysP = RoundUp(packedKeys, kTileN),
                  dvP = RoundUp(dv, kTileN);
    // kᵀ in key blocks, each [D, kKeys] and contiguous (rows of one long
    // [D, keysP] matrix would sit a power of two apart and fight over the
    // same cache sets), and v [keysP, dvP]; zero padded.
    const int64_t keyBlocks = (keysP + kKeys - 1) / kKeys;
    sc.kt.assign(keyBlocks * d * kKeys, 0.0f);
    for (int64_t j = 0; j < packedKeys; ++j) { // read rows of k in order
      const float *src = k.data + kOff + j * k.strides[rank - 2];
      float *dst = sc.kt.data() + j / kKeys * d * kKeys + j % kKeys;
      for (int64_t c = 0; c < d; ++c)
        dst[c * kKeys] = src[c * k.strides[rank - 1]];
    }
    sc.v.resize(keysP * dvP);
    for (int64_t j = 0; j < keysP; ++j) {
      float *dst = sc.v.data() + j * dvP;
      if (j >= packedKeys) {
        std::fill(dst, dst + dvP, 0.0f);
        continue;
      }
      const float *src = v.data + vOff + j * v.strides[rank - 2];
      for (int64_t c = 0; c < dv; ++c)
        dst[c] = src[c * v.strides[rank - 1]];
      std::fill(dst + dv, dst + dvP, 0.0f);
    }

    for (int64_t blk = firstBlock; blk < endBlock; ++blk) {
      const int64_t i0 = blk * kRows, rows = std::min(kRows, sq - i0);
      const int64_t rowsP = RoundUp(rows, kTileM);
      const int64_t keyEnd = keysFor(i0 + rows - 1);
      const int64_t blockKeysP = RoundUp(keyEnd, kTileN);
      sc.q.resize(rowsP * d);
      for (int64_t i = 0; i < rowsP; ++i) {
        float *dst = sc.q.data() + i * d;
        if (i >= rows) {
          std::fill(dst, dst + d, 0.0f);
          continue;
        }
        const float *src = q.data + qOff + (i0 + i) * q.strides[rank - 2];
        for (int64_t c = 0; c < d; ++c)
          dst[c] = src[c * q.strides[rank - 1]] * args.scale;
      }
      sc.s.resize(rowsP * kKeys);
      sc.acc.assign(rowsP * dvP, 0.0f);
      sc.m.assign(rowsP, neg_inf);
      sc.l.assign(rowsP, 0.0f);

      for (int64_t j0 = 0; j0 < blockKeysP; j0 += kKeys) {
        const int64_t bc = std::min(kKeys, blockKeysP - j0);
        float *s = sc.s.data();
        for (int64_t i = 0; i < rowsP; i += kTileM)
          for (int64_t j = 0; j < bc; j += kTileN)
            kern.tile(d, sc.q.data() + i * d, d,
                      sc.kt.data() + j0 / kKeys * d * kKeys + j, kKeys,
                      s + i * kKeys + j, kKeys, false);
        for (int64_t i = 0; i < rows; ++i) {
          float *row = s + i * kKeys;
          if (args.softcap > 0.0f)
            for (int64_t j = 0; j < bc; ++j)
              row[j] = args.softcap * std::tanh(row[j] / args.softcap);
          if (args.mask.data) {
            const float *mrow = args.mask.data + mOff +
                                (i0 + i) * maskStride[rank - 2] +
                                j0 * maskStride[rank - 1];
            const int64_t ms = maskStride[rank - 1];
            // The mask has Sk columns; the block's padding columns past them
            // are masked out below and must not be read.
            const int64_t keys = std::min(bc, sk - j0);
            if (fill != neg_inf) // s + -inf would be -inf: select instead
              for (int64_t j = 0; j < keys; ++j)
                row[j] = mrow[j * ms] == neg_inf ? fill : row[j] + mrow[j * ms];
            else if (ms == 1)
              for (int64_t j = 0; j < keys; ++j)
                row[j] += mrow[j];
            else
              for (int64_t j = 0; j < keys; ++j)
                row[j] += mrow[j * ms];
          }
          // Keys past the end, or after the query under a causal mask.
          const int64_t visible = keysFor(i0 + i) - j0;
          for (int64_t j = std::max<int64_t>(visible, 0); j < bc; ++j)
            row[j] = neg_inf;
          const float mNew = std::max(sc.m[i], kern.max_row(row, bc));
          if (mNew == neg_inf) { // nothing visible yet
            std::fill(row, row + bc, 0.0f);
            continue;
          }
          const float sum = kern.exp_row(row, bc, mNew);
          const float correction = std::exp(sc.m[i] - mNew);
          sc.l[i] = sc.l[i] * correction + sum;
          sc.m[i] = mNew;
          if (correction != 1.0f)
            for (int64_t c = 0; c < dvP; ++c)
              sc.acc[i * dvP + c] *= correction;
        }
        for (int64_t i = 0; i < rowsP; i += kTileM)
          for (int64_t c = 0; c < dvP; c += kTileN)
            kern.tile(bc, s + i * kKeys, kKeys, sc.v.data() + j0 * dvP + c, dvP,
                      sc.acc.data() + i * dvP + c, dvP, true);
      }
      // A row that saw no key divides 0 by 0: NaN, as softmax over -inf
      // does.
      for (int64_t i = 0; i < rows; ++i) {
        const float inv = 1.0f / sc.l[i];
        float *dst = o.data + oOff + (i0 + i) * o.strides[rank - 2];
        for (int64_t c = 0; c < dv; ++c)
          dst[c * o.strides[rank - 1]] =
              sc.l[i] == 0.0f ? std::numeric_limits<float>::quiet_NaN()
                              : sc.acc[i * dvP + c] * inv;
      }
    }
  });
}

} // namespace bathy::rt
