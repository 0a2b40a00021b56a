//===- Passes.h - CPU code generation passes ------------------------------===//
//
// The CPU target's passes (Passes.td beside this header).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_CPU_PASSES_H
#define BATHY_CODEGEN_CPU_PASSES_H

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace bathy {

#define GEN_PASS_DECL
#include "bathy/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bathy/Codegen/CPU/Passes.h.inc"

/// On bufferized kernels that write their results into buffers passed after
/// their arguments (bathy-cpu-kernel-destinations).
constexpr llvm::StringLiteral kKernelDestinationsAttrName =
    "bathy.destinations";

/// On a launch declaration bathy-cpu-parallelize made: the task function
/// that runs a [begin, end) slice of the launch's range, and the fewest
/// iterations worth a thread (bathy-cpu-parallel-launch-to-llvm reads both).
constexpr llvm::StringLiteral kParallelTaskAttr = "bathy.parallel_task";
constexpr llvm::StringLiteral kParallelGrainAttr = "bathy.parallel_grain";

} // namespace bathy

#endif // BATHY_CODEGEN_CPU_PASSES_H
