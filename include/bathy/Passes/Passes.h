//===- Passes.h - bathy graph, fusion and kernel passes -------------------===//
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

/// Shape arithmetic that stays in the host function: shape/size, and ops
/// whose results are all small static i64 vectors (the Gather/Concat/
/// Unsqueeze chains computing reshape targets). Never fused with compute
/// ops (bathy-kernel-outline outlines them one per kernel when asked to).
bool isHostShapeOp(mlir::Operation *op);

/// Sweeps `func` until no result type changes: each bathy op's declared
/// types become their meet with the inferred ones (bathy-graph-infer-shapes).
/// Returns the number of types refined and adds the sweeps run to `sweeps`;
/// failure (with a diagnostic) on a contradiction or with no fixed point in
/// `maxSweeps`.
mlir::FailureOr<unsigned> refineTypes(mlir::func::FuncOp func,
                                      unsigned maxSweeps, unsigned &sweeps);

/// Whether `value`'s type may be refined in place: every user is a bathy op
/// or func.return (which accept more static operand types).
bool canRefineType(mlir::Value value);

/// Sets `func`'s result types to its return's operand types (after result
/// types were refined).
void syncResultTypesWithReturn(mlir::func::FuncOp func);

} // namespace bathy

#endif // BATHY_PASSES_PASSES_H
