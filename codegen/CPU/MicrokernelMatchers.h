//===- MicrokernelMatchers.h - linalg forms the CPU runtime computes ------===//
//
// The CPU target recognises, in the linalg that bathy-linalg-from-bathy
// writes, the contractions and convolutions its runtime has hand-written
// kernels for (runtime/cpu/kernels.h), from the op's structure alone:
// operand ranks and element types, iterator types, indexing maps and the
// multiply-accumulate body. Nothing upstream marks them, so any target can
// reuse the lowering; a generic that does not have exactly the form a kernel
// computes stays loops. Works on tensors (bathy-cpu-fuse-elementwise keeps
// these ops whole) and on buffers (bathy-cpu-microkernels calls the kernel).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_CPU_MICROKERNELMATCHERS_H
#define BATHY_CODEGEN_CPU_MICROKERNELMATCHERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace bathy::cpu {

/// A runtime kernel and the parameters its call takes besides the operands.
struct MicrokernelMatch {
  enum class Kind {
    /// [batch..., M, K] x [batch..., K, N] accumulated into [batch..., M, N];
    /// size-1 batch dims of an operand broadcast.
    MatmulF32,
    /// NCHW input, FCHW weight, NFHW accumulator; loops [n, f, c, kh, kw, oh,
    /// ow].
    Conv2dF32,
    /// One filter per channel: NCHW input, C1HW weight; loops [n, c, kh, kw,
    /// oh, ow].
    DwConv2dF32,
  };
  Kind kind;
  /// Convolutions: (h, w) strides and dilations read off the input's map.
  llvm::SmallVector<int64_t, 2> strides, dilations;

  bool isConvolution() const { return kind != Kind::MatmulF32; }
  /// The runtime entry point (runtime/cpu/entry_points.h).
  llvm::StringRef entryPoint() const;
};

/// The runtime kernel that computes `op` exactly, if there is one.
std::optional<MicrokernelMatch> matchMicrokernel(mlir::linalg::GenericOp op);

} // namespace bathy::cpu

#endif // BATHY_CODEGEN_CPU_MICROKERNELMATCHERS_H
