//===- Common.h - Shared helpers for lowering bathy to linalg -------------===//
#ifndef BATHY_CODEGEN_TOLINALG_COMMON_H
#define BATHY_CODEGEN_TOLINALG_COMMON_H

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace bathy::codegen {

/// Marks a linalg op the runtime has a microkernel for (its name, e.g.
/// "matmul_f32"); bathy-cpu-microkernels swaps it for a call after
/// bufferization. Convolutions also carry their strides and dilations.
inline constexpr llvm::StringLiteral kUkernelAttr = "bathy.ukernel";
inline constexpr llvm::StringLiteral kUkernelStridesAttr =
    "bathy.ukernel.strides";
inline constexpr llvm::StringLiteral kUkernelDilationsAttr =
    "bathy.ukernel.dilations";

/// The size of dim `d` of `v` as an index value (constant when static).
mlir::Value dimValue(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                     int64_t d);

/// tensor.empty of `type`, its dynamic sizes given by `sizeOf(d)`.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type,
                        llvm::function_ref<mlir::Value(int64_t)> sizeOf);

/// A scalar constant of `type` (float or integer).
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Type type, double value);

/// tensor.empty filled with `value`.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type,
                         llvm::function_ref<mlir::Value(int64_t)> sizeOf,
                         mlir::Value value);

/// The index map for an operand broadcast into a result of `resultRank`
/// dims: trailing alignment; static size-1 dims read index 0.
mlir::AffineMap broadcastMap(mlir::MLIRContext *ctx, int64_t resultRank,
                             mlir::RankedTensorType operand,
                             mlir::RankedTensorType result);

/// Dynamic size of result dim `d` of a broadcasting op: from the first
/// operand whose aligned dim is not statically 1.
mlir::Value broadcastDimSize(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::ValueRange operands,
                             mlir::RankedTensorType result, int64_t d);

void populateElementwiseToLinalg(mlir::RewritePatternSet &patterns);
void populateStructuredToLinalg(mlir::RewritePatternSet &patterns);
void populateDataMovementToLinalg(mlir::RewritePatternSet &patterns);
/// bathy.launch -> func.call, and the host's shape ops (shape, size, range).
void populateHostToCalls(mlir::RewritePatternSet &patterns);

} // namespace bathy::codegen

#endif // BATHY_CODEGEN_TOLINALG_COMMON_H
