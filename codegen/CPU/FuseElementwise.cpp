//===- FuseElementwise.cpp - Linalg elementwise fusion inside kernels -----===//
#include "ToLinalg/Common.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace bathy {
#define GEN_PASS_DEF_FUSELINALGELEMENTWISEPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {
struct FuseLinalgElementwisePass
    : impl::FuseLinalgElementwisePassBase<FuseLinalgElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *fused) {
          Operation *producer = fused->get().getDefiningOp();
          Operation *consumer = fused->getOwner();
          return producer && producer->hasOneUse() &&
                 !consumer->hasAttr(codegen::kUkernelAttr) &&
                 !producer->hasAttr(codegen::kUkernelAttr);
        });
    linalg::FillOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace bathy
