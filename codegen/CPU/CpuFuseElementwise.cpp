//===- CpuFuseElementwise.cpp - Linalg elementwise fusion inside kernels --===//
//
// bathy-cpu-fuse-elementwise: upstream elementwise fusion, restricted so that
// the ops a runtime microkernel will compute stay whole.
//
//===----------------------------------------------------------------------===//
#include "MicrokernelMatchers.h"
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-fuse-elementwise"

namespace bathy {
#define GEN_PASS_DEF_CPUFUSEELEMENTWISEPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {
struct CpuFuseElementwisePass
    : impl::CpuFuseElementwisePassBase<CpuFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *fused) {
          Operation *producer = fused->get().getDefiningOp();
          Operation *consumer = fused->getOwner();
          // A runtime kernel reads its operands as they are: nothing fuses
          // into or out of one.
          auto isMicrokernel = [](Operation *op) {
            auto g = dyn_cast_or_null<linalg::GenericOp>(op);
            return g && cpu::matchMicrokernel(g).has_value();
          };
          if (producer &&
              (isMicrokernel(consumer) || isMicrokernel(producer))) {
            LLVM_DEBUG(llvm::dbgs()
                       << "not fused at " << consumer->getLoc()
                       << ": a runtime kernel computes one side\n");
            return false;
          }
          return producer && producer->hasOneUse();
        });
    linalg::FillOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace bathy
