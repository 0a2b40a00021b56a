//===- GraphSimplify.cpp - Shape inference and folding to a fixed point ---===//
//
// bathy-graph-simplify: alternates the type refinement of
// bathy-graph-infer-shapes (bathy::refineTypes) with canonicalization until
// neither changes anything, so shape computations that become constant once
// a shape is known fold away (Shape of a static tensor, dynamic slices and
// reshapes with constant operands).
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-graph-simplify"

namespace bathy {
#define GEN_PASS_DEF_GRAPHSIMPLIFYPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

namespace {

struct GraphSimplifyPass
    : bathy::impl::GraphSimplifyPassBase<GraphSimplifyPass> {
  using GraphSimplifyPassBase::GraphSimplifyPassBase;

  /// The canonicalization patterns of every loaded dialect and registered
  /// op, as the upstream canonicalizer collects them.
  LogicalResult initialize(MLIRContext *context) override {
    RewritePatternSet owning(context);
    for (Dialect *dialect : context->getLoadedDialects())
      dialect->getCanonicalizationPatterns(owning);
    for (RegisteredOperationName op : context->getRegisteredOperations())
      op.getCanonicalizationPatterns(owning, context);
    patterns = std::make_shared<FrozenRewritePatternSet>(std::move(owning));
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    unsigned sweeps = 0, rounds = 0, refinedTotal = 0;
    while (rounds < maxRounds) {
      ++rounds;
      FailureOr<unsigned> refined = refineTypes(func, maxIterations, sweeps);
      if (failed(refined))
        return signalPassFailure();
      refinedTotal += *refined;
      bool rewritten = false;
      // Not converging within the driver's own limit is fine: the next
      // round continues from where it stopped.
      (void)applyPatternsGreedily(func, *patterns, GreedyRewriteConfig(),
                                  &rewritten);
      if (!rewritten && *refined == 0)
        break;
    }
    numRounds = rounds;
    LLVM_DEBUG(llvm::dbgs()
               << "@" << func.getSymName() << ": fixed point after " << rounds
               << " rounds, " << refinedTotal << " types refined\n");
    numRefined = refinedTotal;
  }

  std::shared_ptr<const FrozenRewritePatternSet> patterns;
};

} // namespace
