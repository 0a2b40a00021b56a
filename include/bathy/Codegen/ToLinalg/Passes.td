//===- Passes.td - bathy kernels to linalg --------------------------------===//
//
// The conversion of bathy kernels to linalg on tensors: the last
// target-neutral layer (docs/architecture.md, "Where the target-neutral part
// ends"). Flags bathy-linalg-<name>, files codegen/ToLinalg/Linalg<Name>.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_TOLINALG_PASSES_TD
#define BATHY_CODEGEN_TOLINALG_PASSES_TD

include "mlir/Pass/PassBase.td"

def LinalgFromBathyPass : Pass<"bathy-linalg-from-bathy", "mlir::ModuleOp"> {
  let summary = "Lowers the bathy ops inside kernels to linalg, tensor, arith and math.";
  let description = [{
    Rewrites every bathy op in `bathy.kernel` functions into upstream ops on
    tensors, with no target's choices in it: elementwise ops into
    `linalg.generic` with broadcasting maps, matmul and 2-D convolution into
    multiply-accumulate contractions (which a target may recognise, as
    bathy-cpu-microkernels does), reductions, softmax and norms into
    reduction/map generics, 2-D pooling into linalg's named pooling ops, data
    movement into `tensor` ops, run-time requirements into `bathy.check`.
    Prerequisites, run before it: bathy-kernel-conv-pool-to-2d (only 2-D
    windowed ops are lowered here) and the target's lowering of
    `bathy.attention` (bathy-cpu-attention-to-runtime on the CPU). Host
    functions are left alone unless `host` is set. An op without a lowering
    yet is an error naming the op and its ONNX node.

    Broadcasting: static size-1 dims read index 0; dynamic dims listed in an
    op's `bathy.equal_dims` (bathy-graph-symbolic-dims) read with identity
    maps. Any other dynamic operand dim that meets a second size is checked
    at run time: when it is 1 and the result is not, the operand is first
    copied broadcast (scf.if), so a size-1 dim the types cannot show is
    still read correctly.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::func::FuncDialect",
    "::mlir::cf::ControlFlowDialect"
  ];
  let statistics = [
    Statistic<"numLowered", "num-lowered", "Number of bathy ops lowered">,
  ];
  let options = [
    Option<"lowerHost", "host", "bool", /*default=*/"false",
           "Also lower host functions: launches become func.call and host "
           "shape arithmetic becomes tensor ops (whole-module JIT)">,
  ];
}

#endif // BATHY_CODEGEN_TOLINALG_PASSES_TD
