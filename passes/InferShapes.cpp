//===- InferShapes.cpp - Refine result types to the inferred shapes -------===//
//
// One driver for every op: ops that implement InferTypeOpInterface infer
// their results, ops with SameOperandsAndResultShape take their operand's
// shape, and bathy.reshape resolves its one dynamic dim from a static input.
// Each declared type is replaced by its meet with the inferred type, sweeping
// until nothing changes.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

namespace bathy {
#define GEN_PASS_DEF_INFERSHAPESPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

namespace {

/// Inferred result types for `op`, or an empty vector if `op` has no rule.
/// Returns failure (with a diagnostic) if inference itself fails.
LogicalResult inferResultTypes(Operation *op, SmallVectorImpl<Type> &types) {
  if (auto infer = dyn_cast<InferTypeOpInterface>(op))
    return infer.inferReturnTypes(op->getContext(), op->getLoc(),
                                  op->getOperands(), op->getAttrDictionary(),
                                  op->getPropertiesStorage(), op->getRegions(),
                                  types);
  if (op->hasTrait<mlir::OpTrait::SameOperandsAndResultShape>() &&
      op->getNumOperands() == 1 && op->getNumResults() == 1) {
    auto result = cast<TensorType>(op->getResult(0).getType());
    std::optional<ArrayRef<int64_t>> shape =
        getShapeIfRanked(op->getOperand(0).getType());
    types.push_back(makeTensorType(shape, result.getElementType()));
    return success();
  }
  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    auto input = dyn_cast<RankedTensorType>(reshape.getInput().getType());
    RankedTensorType result = reshape.getType();
    if (!input || !input.hasStaticShape() || result.getNumDynamicDims() != 1)
      return success();
    int64_t known = 1;
    for (int64_t d : result.getShape())
      if (!ShapedType::isDynamic(d))
        known *= d;
    if (known == 0)
      return success();
    SmallVector<int64_t> shape(result.getShape());
    for (int64_t &d : shape)
      if (ShapedType::isDynamic(d))
        d = input.getNumElements() / known;
    types.push_back(RankedTensorType::get(shape, result.getElementType()));
  }
  return success();
}

/// A value's type may change only if every user accepts refined types.
bool canRefine(Value value) {
  return llvm::all_of(value.getUsers(), [](Operation *user) {
    return isa<BathyDialect>(user->getDialect()) || isa<func::ReturnOp>(user);
  });
}

struct InferShapesPass : bathy::impl::InferShapesPassBase<InferShapesPass> {
  using InferShapesPassBase::InferShapesPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    bool changed = true;
    unsigned sweeps = 0;
    while (changed) {
      if (sweeps++ == maxIterations) {
        func.emitError("shape inference found no fixed point after ")
            << maxIterations << " sweeps";
        return signalPassFailure();
      }
      changed = false;
      WalkResult walk = func.walk([&](Operation *op) {
        if (!isa<BathyDialect>(op->getDialect()))
          return WalkResult::advance();
        SmallVector<Type> inferred;
        if (failed(inferResultTypes(op, inferred)))
          return WalkResult::interrupt();
        if (inferred.size() != op->getNumResults())
          return WalkResult::advance();
        for (auto [result, type] : llvm::zip(op->getResults(), inferred)) {
          Type meet = meetTensorTypes(result.getType(), type);
          if (!meet) {
            op->emitOpError("result ")
                << result.getResultNumber() << " is declared "
                << result.getType() << " but inferred " << type;
            return WalkResult::interrupt();
          }
          if (meet == result.getType() || !canRefine(result))
            continue;
          result.setType(meet);
          ++numRefined;
          changed = true;
        }
        return WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return signalPassFailure();
    }
    numIterations = sweeps;

    // The function's results follow its return.
    if (!func.getBody().hasOneBlock())
      return;
    auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
    if (ret && TypeRange(ret.getOperandTypes()) != func.getResultTypes())
      func.setType(FunctionType::get(&getContext(), func.getArgumentTypes(),
                                     ret.getOperandTypes()));
  }
};

} // namespace
