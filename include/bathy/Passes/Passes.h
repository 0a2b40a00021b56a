//===- Passes.h - bathy's graph-level passes ------------------------------===//
#ifndef BATHY_PASSES_PASSES_H
#define BATHY_PASSES_PASSES_H

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace bathy {

#define GEN_PASS_DECL
#include "bathy/Passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bathy/Passes/Passes.h.inc"

/// On bufferized kernels that write their results into buffers passed after
/// their arguments (bathy-cpu-kernel-destinations).
constexpr llvm::StringLiteral kKernelDestinationsAttrName =
    "bathy.destinations";

/// Shape arithmetic that stays in the host function: shape/size, and ops
/// whose results are all small static i64 vectors (the Gather/Concat/
/// Unsqueeze chains computing reshape targets). Never fused with compute
/// ops (bathy-kernel-outline outlines them one per kernel when asked to).
bool isHostShapeOp(mlir::Operation *op);

/// Whether `value`'s type may be refined in place: every user is a bathy op
/// or func.return (which accept more static operand types).
bool canRefineType(mlir::Value value);

/// Sets `func`'s result types to its return's operand types (after result
/// types were refined).
void syncResultTypesWithReturn(mlir::func::FuncOp func);

} // namespace bathy

#endif // BATHY_PASSES_PASSES_H
