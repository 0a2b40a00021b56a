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

/// A size as lowering reads it: dim `dim` of the tensor `source`, an index
/// value, or a constant. It is the domain lowering runs bathy::shape's
/// rules (ShapeRules.h) in: a rule picks and combines SizeRefs, and only
/// the sizes a tensor.empty needs become IR.
class SizeRef {
public:
  static SizeRef constant(int64_t c) { return SizeRef({}, -1, c); }
  static SizeRef dimOf(mlir::Value tensor, int64_t d) {
    return SizeRef(tensor, d, 0);
  }
  static SizeRef index(mlir::Value v) { return SizeRef(v, -1, 0); }

  /// The size when a type or a constant says it.
  std::optional<int64_t> getStatic() const;
  bool isStatic(int64_t c) const { return getStatic() == c; }
  /// The size as an index value (constant when static).
  mlir::Value materialize(mlir::OpBuilder &b, mlir::Location loc) const;

private:
  SizeRef(mlir::Value source, int64_t dim, int64_t c)
      : source(source), dim(dim), value(c) {}
  mlir::Value source;
  int64_t dim;
  int64_t value;
};

/// Every dim of the ranked tensor `v`.
llvm::SmallVector<SizeRef> sizesOf(mlir::Value v);

/// shape::broadcast's join once the operands have been broadcast at run
/// time (broadcastOperands): any size that is not a static 1 is the
/// result's.
SizeRef pickBroadcastSize(const SizeRef &acc, const SizeRef &size);

/// shape::broadcast's join on run-time sizes: `acc` if `size` is 1, `size`
/// if `acc` is 1, 0 if `size` is 0, else `acc` (sizes that do not
/// broadcast are rejected by the checks broadcastOperands emits). Emits
/// selects unless the sizes are static.
SizeRef joinBroadcastSizes(mlir::OpBuilder &b, mlir::Location loc,
                           const SizeRef &acc, const SizeRef &size);

/// Run-time i64 arithmetic for the rules in ShapeRules.h that compute
/// (shape::sliceAxis, shape::rangeCount): the same rule type inference runs
/// on static values
/// (StaticArith), emitted as arith ops.
struct RuntimeArith {
  using Int = mlir::Value;
  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::Value constant(int64_t c) const;
  mlir::Value add(mlir::Value x, mlir::Value y) const;
  mlir::Value sub(mlir::Value x, mlir::Value y) const;
  mlir::Value min(mlir::Value x, mlir::Value y) const;
  mlir::Value max(mlir::Value x, mlir::Value y) const;
  mlir::Value lt(mlir::Value x, mlir::Value y) const;
  mlir::Value gt(mlir::Value x, mlir::Value y) const;
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) const;
  mlir::Value mul(mlir::Value x, mlir::Value y) const;
  mlir::Value divs(mlir::Value x, mlir::Value y) const;
  mlir::Value ne(mlir::Value x, mlir::Value y) const;
  mlir::Value divu(mlir::Value x, mlir::Value y) const;
  mlir::Value remu(mlir::Value x, mlir::Value y) const;
};

/// tensor.empty of `type`, its dynamic sizes taken from `sizes`.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type,
                        llvm::ArrayRef<SizeRef> sizes);

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

/// Dynamic size of result dim `d` of a broadcasting op, once its operands
/// have been broadcast at run time: from the first operand whose aligned
/// dim is not statically 1.
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
