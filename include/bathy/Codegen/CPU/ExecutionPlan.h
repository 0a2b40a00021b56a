//===- ExecutionPlan.h - A host function as the runtime's execution plan --===//
//
// After outlining with shape kernels (PipelineOptions::shapeKernels), a host
// function holds only constants, kernel launches and its return. That is
// exactly what rt::Plan describes; this turns one into the other, copying
// the constants' bytes into the plan.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_EXECUTIONPLAN_H
#define BATHY_CODEGEN_EXECUTIONPLAN_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"
#include "runtime/plan.h"

namespace bathy {

/// Builds the plan of `host`. Inputs and outputs take their names and dim
/// params from the `bathy.name` / `bathy.dim_params` attributes. An op other
/// than a constant, a launch or the return is an error at that op. When
/// `releaseWeightBlobs`, the resource blob behind a constant is emptied
/// once the plan holds its copy (only for callers done with the module's
/// weights).
mlir::FailureOr<rt::Plan> buildExecutionPlan(mlir::func::FuncOp host,
                                             bool releaseWeightBlobs = false);

/// The input contract of `host` (names, element types, shapes, dim params)
/// before compiling it; an error if an input cannot be run (unranked, or an
/// element type the runtime lacks).
mlir::FailureOr<std::vector<rt::TensorSpec>>
inputSpecsOf(mlir::func::FuncOp host);

} // namespace bathy

#endif // BATHY_CODEGEN_EXECUTIONPLAN_H
