//===- gemm.cc - Single-precision matrix multiply for the CPU device ------===//
#include "runtime/cpu/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/cpu/thread_pool.h"
#include "runtime/cpu/tile_avx2.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BATHY_X86 1
#endif

namespace bathy::rt {
namespace {

constexpr int64_t kMR = kTileRows; // microkernel rows
constexpr int64_t kNR = kTileCols; // columns (two 8-wide vectors)
constexpr int64_t kKC = 256; // depth of one packed block
constexpr int64_t kMC = 72;  // rows of A packed at once (multiple of kMR)
constexpr int64_t kNC = 512; // columns of B packed at once (multiple of kNR)

/// Packs rows [0, mc) and depth [0, kc) of `a` into panels of kMR rows:
/// panel p holds, for each k, the kMR values a[p*kMR + r][k] (zero padded).
void PackA(int64_t mc, int64_t kc, const float *a, int64_t rs, int64_t cs,
           float *out) {
  for (int64_t p = 0; p < mc; p += kMR) {
    int64_t rows = std::min(kMR, mc - p);
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t r = 0; r < rows; ++r)
        out[r] = a[(p + r) * rs + k * cs];
      for (int64_t r = rows; r < kMR; ++r)
        out[r] = 0.0f;
      out += kMR;
    }
  }
}

/// Packs depth [0, kc) and columns [0, nc) of `b` into panels of kNR columns.
void PackB(int64_t kc, int64_t nc, const float *b, int64_t rs, int64_t cs,
           float *out) {
  for (int64_t p = 0; p < nc; p += kNR) {
    int64_t cols = std::min(kNR, nc - p);
    for (int64_t k = 0; k < kc; ++k) {
      const float *row = b + k * rs + p * cs;
      if (cs == 1 && cols == kNR) {
        std::memcpy(out, row, kNR * sizeof(float));
      } else {
        for (int64_t j = 0; j < cols; ++j)
          out[j] = row[j * cs];
        for (int64_t j = cols; j < kNR; ++j)
          out[j] = 0.0f;
      }
      out += kNR;
    }
  }
}

/// Adds a kMR x kNR tile (row-major in `acc`) to the mr x nr corner of C.
inline void AddTile(const float *acc, int64_t mr, int64_t nr, float *c,
                    int64_t rs, int64_t cs) {
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j)
      c[i * rs + j * cs] += acc[i * kNR + j];
}

/// The A operand of a microkernel call: row i, depth k is at
/// a[min(i, rows - 1) * row_stride + k * k_stride]. Packed panels have
/// (1, kMR); a row-major A read in place has (lda, 1).
struct PanelA {
  const float *a;
  int64_t row_stride, k_stride;
};

void MicroKernelPortable(int64_t kc, PanelA pa, const float *b, float *c,
                         int64_t rs, int64_t cs, int64_t mr, int64_t nr) {
  float acc[kMR * kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int64_t i = 0; i < mr; ++i) {
      float ai = pa.a[i * pa.row_stride + k * pa.k_stride];
      for (int64_t j = 0; j < kNR; ++j)
        acc[i * kNR + j] += ai * b[j];
    }
    b += kNR;
  }
  AddTile(acc, mr, nr, c, rs, cs);
}

#ifdef BATHY_X86
__attribute__((target("avx2,fma"))) void
MicroKernelAvx2(int64_t kc, PanelA pa, const float *b, float *c, int64_t rs,
                int64_t cs, int64_t mr, int64_t nr) {
  // Rows past mr repeat the last row: in bounds, and discarded below.
  const float *a0 = pa.a,
              *a1 = pa.a + std::min<int64_t>(1, mr - 1) * pa.row_stride,
              *a2 = pa.a + std::min<int64_t>(2, mr - 1) * pa.row_stride,
              *a3 = pa.a + std::min<int64_t>(3, mr - 1) * pa.row_stride,
              *a4 = pa.a + std::min<int64_t>(4, mr - 1) * pa.row_stride,
              *a5 = pa.a + std::min<int64_t>(5, mr - 1) * pa.row_stride;
  const float *rows[kTileRows] = {a0, a1, a2, a3, a4, a5};
  const Tile6x16 t = Fma6x16(kc, rows, pa.k_stride, b, kNR);
  const auto &acc = t.c;
  if (mr == kMR && nr == kNR && cs == 1) {
    for (int64_t i = 0; i < kMR; ++i) {
      float *row = c + i * rs;
      _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[i][0]));
      _mm256_storeu_ps(row + 8,
                       _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[i][1]));
    }
    return;
  }
  alignas(32) float tile[kMR * kNR];
  for (int64_t i = 0; i < kMR; ++i) {
    _mm256_store_ps(tile + i * kNR, acc[i][0]);
    _mm256_store_ps(tile + i * kNR + 8, acc[i][1]);
  }
  AddTile(tile, mr, nr, c, rs, cs);
}

bool DetectAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
bool DetectAvx2() { return false; }
#endif

using MicroKernel = void (*)(int64_t, PanelA, const float *, float *, int64_t,
                             int64_t, int64_t, int64_t);

MicroKernel SelectKernel() {
#ifdef BATHY_X86
  if (DetectAvx2())
    return MicroKernelAvx2;
#endif
  return MicroKernelPortable;
}

const MicroKernel kKernel = SelectKernel();

/// Per-thread packing buffers, grown on demand and kept across calls.
struct PackBuffers {
  std::vector<float> a, b;
};
thread_local PackBuffers pack_buffers;

} // namespace

bool SgemmUsesAvx2() { return kKernel != MicroKernelPortable; }

/// Rows (columns) rounded up to whole microkernel panels.
static int64_t PaddedRows(int64_t m) { return (m + kMR - 1) / kMR * kMR; }
static int64_t PaddedCols(int64_t n) { return (n + kNR - 1) / kNR * kNR; }

size_t PackedBSize(int64_t k, int64_t n) {
  return static_cast<size_t>(PaddedCols(n)) * k;
}

void PackWholeB(int64_t k, int64_t n, MatrixView b, float *out) {
  int64_t nPadded = PaddedCols(n);
  for (int64_t p0 = 0; p0 < k; p0 += kKC) {
    int64_t kc = std::min(kKC, k - p0);
    PackB(kc, n, b.data + p0 * b.row_stride, b.row_stride, b.col_stride,
          out + p0 * nPadded);
  }
}

size_t PackedASize(int64_t m, int64_t k) {
  return static_cast<size_t>(PaddedRows(m)) * k;
}

void PackWholeA(int64_t m, int64_t k, MatrixView a, float *out) {
  int64_t mPadded = PaddedRows(m);
  for (int64_t p0 = 0; p0 < k; p0 += kKC) {
    int64_t kc = std::min(kKC, k - p0);
    PackA(m, kc, a.data + p0 * a.col_stride, a.row_stride, a.col_stride,
          out + p0 * mPadded);
  }
}

void Sgemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b,
           float *c, int64_t rsc, int64_t csc, ThreadPool *pool,
           const float *packedB, const float *packedA) {
  if (m <= 0 || n <= 0 || k <= 0)
    return;
  // With few columns in C, packing A would cost about as much as the product:
  // a row-major A (weights usually are) is then read in place. Wide products
  // amortize the packing and profit from its locality.
  bool packA = !packedA && (a.col_stride != 1 || n >= 128);
  // Tile C into mc x nc blocks; shrink them so every thread gets work when
  // the matrix is small in one direction.
  int threads = pool ? pool->num_threads() : 1;
  int64_t mc = std::min<int64_t>(kMC, (m + kMR - 1) / kMR * kMR);
  int64_t nc = std::min<int64_t>(kNC, (n + kNR - 1) / kNR * kNR);
  auto tiles = [&] { return ((m + mc - 1) / mc) * ((n + nc - 1) / nc); };
  while (tiles() < threads && nc > kNR)
    nc = std::max<int64_t>(kNR, (nc / 2 + kNR - 1) / kNR * kNR);
  while (tiles() < threads && mc > kMR)
    mc = std::max<int64_t>(kMR, (mc / 2 + kMR - 1) / kMR * kMR);
  int64_t mTiles = (m + mc - 1) / mc;
  int64_t nTiles = (n + nc - 1) / nc;
  // Tiny products are not worth waking the workers for.
  bool parallel = pool && threads > 1 && 2.0 * m * n * k >= 4.0e6;

  auto runTile = [&](int64_t t) {
    int64_t i0 = (t % mTiles) * mc, j0 = (t / mTiles) * nc;
    int64_t mb = std::min(mc, m - i0), nb = std::min(nc, n - j0);
    PackBuffers &buf = pack_buffers;
    int64_t mPadded = PaddedRows(mb);
    int64_t nPadded = PaddedCols(nb);
    if (packA)
      buf.a.resize(std::max<size_t>(buf.a.size(), mPadded * kKC));
    if (!packedB)
      buf.b.resize(std::max<size_t>(buf.b.size(), nPadded * kKC));
    for (int64_t p0 = 0; p0 < k; p0 += kKC) {
      int64_t kc = std::min(kKC, k - p0);
      const float *aBlock = a.data + i0 * a.row_stride + p0 * a.col_stride;
      if (packA)
        PackA(mb, kc, aBlock, a.row_stride, a.col_stride, buf.a.data());
      // A whole-B packing holds block p0 at p0 * nPadded(n), its column
      // panels in order, so columns [j0, j0 + nb) start at j0 * kc.
      const float *bBlock =
          packedB ? packedB + p0 * PaddedCols(n) + j0 * kc : buf.b.data();
      if (!packedB)
        PackB(kc, nb, b.data + p0 * b.row_stride + j0 * b.col_stride,
              b.row_stride, b.col_stride, buf.b.data());
      for (int64_t jr = 0; jr < nb; jr += kNR) {
        const float *bp = bBlock + jr * kc;
        for (int64_t ir = 0; ir < mb; ir += kMR) {
          // A whole-A packing holds block p0 at p0 * mPadded(m), its row
          // panels in order, so row i0 + ir starts at (i0 + ir) * kc.
          PanelA pa =
              packedA ? PanelA{packedA + p0 * PaddedRows(m) + (i0 + ir) * kc, 1,
                               kMR}
              : packA ? PanelA{buf.a.data() + ir * kc, 1, kMR}
                      : PanelA{aBlock + ir * a.row_stride, a.row_stride, 1};
          kKernel(kc, pa, bp, c + (i0 + ir) * rsc + (j0 + jr) * csc, rsc, csc,
                  std::min(kMR, mb - ir), std::min(kNR, nb - jr));
        }
      }
    }
  };
  if (parallel)
    pool->ParallelFor(mTiles * nTiles, runTile);
  else
    for (int64_t t = 0; t < mTiles * nTiles; ++t)
      runTile(t);
}

} // namespace bathy::rt
