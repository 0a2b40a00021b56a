//===- GraphInferShapes.cpp - Refine result types to the inferred shapes --===//
//
// One driver for every op: ops that implement InferTypeOpInterface infer
// their results, ops with SameOperandsAndResultShape take their operand's
// shape, and bathy.reshape resolves its one dynamic dim from a static input.
// Each declared type is replaced by its meet with the inferred type, sweeping
// until nothing changes. bathy-graph-simplify alternates that with
// canonicalization until shape computations stop folding.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-graph-infer-shapes"

namespace bathy {
#define GEN_PASS_DEF_GRAPHINFERSHAPESPASS
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

struct GraphInferShapesPass
    : bathy::impl::GraphInferShapesPassBase<GraphInferShapesPass> {
  using GraphInferShapesPassBase::GraphInferShapesPassBase;

  void runOnOperation() override {
    unsigned sweeps = 0;
    FailureOr<unsigned> refined =
        refineTypes(getOperation(), maxIterations, sweeps);
    numIterations = sweeps;
    if (failed(refined))
      return signalPassFailure();
    numRefined = *refined;
    LLVM_DEBUG(llvm::dbgs()
               << *refined << " types refined in " << sweeps << " sweeps\n");
  }
};

} // namespace

/// Sweeps `func` until no result type changes: each bathy op's declared
/// types become their meet with the inferred ones. Returns the number of
/// types refined and adds the sweeps run to `sweeps`; failure (with a
/// diagnostic) on a contradiction or with no fixed point in `maxSweeps`.
FailureOr<unsigned> bathy::refineTypes(func::FuncOp func, unsigned maxSweeps,
                                       unsigned &sweeps) {
  unsigned refined = 0;
  bool changed = true;
  for (unsigned sweep = 0; changed; ++sweep) {
    if (sweep == maxSweeps) {
      func.emitError("shape inference found no fixed point after ")
          << maxSweeps << " sweeps";
      return failure();
    }
    ++sweeps;
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
              << result.getResultNumber() << " is declared " << result.getType()
              << " but inferred " << type;
          return WalkResult::interrupt();
        }
        if (meet == result.getType() || !canRefineType(result))
          continue;
        result.setType(meet);
        ++refined;
        changed = true;
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
  }

  syncResultTypesWithReturn(func);
  return refined;
}

bool bathy::canRefineType(Value value) {
  return llvm::all_of(value.getUsers(), [](Operation *user) {
    return isa<BathyDialect>(user->getDialect()) || isa<func::ReturnOp>(user);
  });
}

void bathy::syncResultTypesWithReturn(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return;
  auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
  if (ret && TypeRange(ret.getOperandTypes()) != func.getResultTypes())
    func.setType(FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                   ret.getOperandTypes()));
}
