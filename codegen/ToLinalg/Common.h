//===- Common.h - Shared helpers for lowering bathy to linalg -------------===//
#ifndef BATHY_CODEGEN_TOLINALG_COMMON_H
#define BATHY_CODEGEN_TOLINALG_COMMON_H

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace bathy::codegen {

/// A run-time requirement (bathy.check): the run stops with "<node>: <what>"
/// unless `ok` holds; "{0}".."{2}" in `what` print `values`. Emits nothing
/// when `ok` is the constant true.
void emitCheck(mlir::OpBuilder &b, mlir::Location loc, mlir::Value ok,
               const llvm::Twine &what, mlir::ValueRange values = {});

/// `a == b` on index values.
mlir::Value sameSize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a,
                     mlir::Value c);

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

/// The NumPy broadcast of run-time `sizes` (sizes that are statically 1 may
/// be left out): the first that is not 1 (1 if none), 0 if any is 0.
mlir::Value combineBroadcastSizes(mlir::OpBuilder &b, mlir::Location loc,
                                  llvm::ArrayRef<mlir::Value> sizes);

/// Run-time size of result dim `d` of a NumPy broadcast of `operands`: the
/// first aligned size that is not 1 (1 if none), 0 if any is 0. Constant
/// folding leaves one value when the sizes are static.
mlir::Value broadcastSizeAtRuntime(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::ValueRange operands,
                                   mlir::RankedTensorType result, int64_t d);

/// The result dims of `op` whose operand sizes are known to be equal
/// (bathy.equal_dims), empty without the attribute.
llvm::ArrayRef<int64_t> knownEqualDims(mlir::Operation *op);

/// `operand` is about to be read with identity maps along its dims `dims`,
/// whose sizes must then be `sizes` (one per entry of `dims`). A dynamic dim
/// that is 1 at run time where the size is larger must broadcast instead:
/// returns `operand` itself when every size already matches, else (chosen
/// at run time by scf.if) a copy broadcast to `sizes`. A size that is
/// neither 1 nor the wanted one stops the run (bathy.check; `operandName`
/// says which operand in the message); indices are also clamped, so no
/// read leaves the operand.
mlir::Value broadcastOperandAtRuntime(mlir::OpBuilder &b, mlir::Location loc,
                                      mlir::Value operand,
                                      llvm::ArrayRef<int64_t> dims,
                                      llvm::ArrayRef<mlir::Value> sizes,
                                      llvm::StringRef operandName = "");

/// The operands of a NumPy broadcast to `result`, each dynamic dim that may
/// broadcast at run time (another operand has a size there that is not a
/// static 1, and the dim is not in `equalDims`) passed through
/// broadcastOperandAtRuntime, so identity maps read them correctly. Sizes
/// that do not broadcast (neither 1 nor the others' size) stop the run.
llvm::SmallVector<mlir::Value>
broadcastOperands(mlir::OpBuilder &b, mlir::Location loc,
                  mlir::ValueRange operands, mlir::RankedTensorType result,
                  llvm::ArrayRef<int64_t> equalDims);

/// Reduction kinds.
enum class Combine { Sum, Max, Min, Prod };

/// The identity of `c` in element type `t`: 0, 1, the lowest value (-inf
/// for floats) for Max, the highest for Min.
mlir::Value identityFor(mlir::OpBuilder &b, mlir::Location loc, mlir::Type t,
                        Combine c);

/// One populate function per op family, named as the family is everywhere
/// (ODS sections, Infer*.cpp, the importer's ops/*.cpp).
void populateElementwiseToLinalg(mlir::RewritePatternSet &patterns);
void populateContractionToLinalg(mlir::RewritePatternSet &patterns);
void populatePoolingToLinalg(mlir::RewritePatternSet &patterns);
void populateReductionToLinalg(mlir::RewritePatternSet &patterns);
void populateDataMovementToLinalg(mlir::RewritePatternSet &patterns);
/// bathy.launch -> func.call (the whole-module pipeline's host).
void populateHostToCalls(mlir::RewritePatternSet &patterns);

} // namespace bathy::codegen

#endif // BATHY_CODEGEN_TOLINALG_COMMON_H
