//===- tile_avx2.h - The 6x16 f32 FMA register tile (AVX2) ----------------===//
//
// The inner loop both CPU matrix kernels run (gemm.cc's GEMM microkernel,
// attention.cc's two products per block): 6 rows of A times a 16-wide row
// of B per depth step, accumulated in 12 vector registers. 12 accumulators,
// 2 loads of B and 6 broadcasts of A per step use 15 of the 16 AVX2
// registers. Callers load and store the tile themselves (their edge and
// layout rules differ).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_TILE_AVX2_H
#define BATHY_RUNTIME_CPU_TILE_AVX2_H

#include <cstdint>

namespace bathy::rt {
/// The tile's shape (the portable kernels use it too).
inline constexpr int64_t kTileRows = 6, kTileCols = 16;
} // namespace bathy::rt

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace bathy::rt {

/// The accumulators of one tile, row r in (c[r][0], c[r][1]). Held in named
/// scalars by the compiler once Fma6x16 is inlined (an aggregate of vectors
/// that never has its address taken).
struct Tile6x16 {
  __m256 c[kTileRows][2];
};

/// tile = sum over k < depth of a_r[k * aStep] * b[k * bStep + 0..15], for
/// rows r = 0..5 given by `a` (six row pointers).
__attribute__((target("avx2,fma"), always_inline)) inline Tile6x16
Fma6x16(int64_t depth, const float *const (&a)[kTileRows], int64_t aStep,
        const float *b, int64_t bStep) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4],
              *a5 = a[5];
  for (int64_t k = 0; k < depth; ++k) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 x = _mm256_broadcast_ss(a0);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a1);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a2);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a3);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a4);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a5);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
    a0 += aStep, a1 += aStep, a2 += aStep, a3 += aStep, a4 += aStep,
        a5 += aStep;
    b += bStep;
  }
  return Tile6x16{{{c00, c01}, {c10, c11}, {c20, c21},
                   {c30, c31}, {c40, c41}, {c50, c51}}};
}

} // namespace bathy::rt

#endif // x86
#endif // BATHY_RUNTIME_CPU_TILE_AVX2_H
