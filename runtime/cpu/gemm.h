//===- gemm.h - Single-precision matrix multiply for the CPU device -------===//
//
// C += A * B for strided f32 matrices, BLIS-style: A and B are packed into
// panels a register-blocked microkernel streams through (6x16 with AVX2 and
// FMA where the CPU has them, a portable kernel otherwise). The C tiles are
// split across the thread pool.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_GEMM_H
#define BATHY_RUNTIME_CPU_GEMM_H

#include <cstddef>
#include <cstdint>

namespace bathy::rt {

class ThreadPool;

/// A strided view of a row-major-or-not f32 matrix: element (i, j) is at
/// data[i * row_stride + j * col_stride].
struct MatrixView {
  const float *data;
  int64_t row_stride;
  int64_t col_stride;
};

/// C[m, n] += sum_k A[m, k] * B[k, n]. `pool` may be null (one thread).
/// `packed_b` / `packed_a`, when given, are B / A as PackWholeB / PackWholeA
/// wrote them (that operand is then not read).
void Sgemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b,
           float *c, int64_t c_row_stride, int64_t c_col_stride,
           ThreadPool *pool, const float *packed_b = nullptr,
           const float *packed_a = nullptr);

/// Floats PackWholeA writes for an m x k A.
size_t PackedASize(int64_t m, int64_t k);
/// Packs all of A once, for A operands that do not change (conv weights).
void PackWholeA(int64_t m, int64_t k, MatrixView a, float *out);

/// Floats PackWholeB writes for a k x n B.
size_t PackedBSize(int64_t k, int64_t n);
/// Packs all of B once, for B operands that do not change (weights).
void PackWholeB(int64_t k, int64_t n, MatrixView b, float *out);

/// True when the AVX2/FMA microkernel is in use on this CPU.
bool SgemmUsesAvx2();

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_GEMM_H
