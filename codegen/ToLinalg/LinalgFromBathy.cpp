//===- LinalgFromBathy.cpp - bathy kernels to linalg on tensors -----------===//
//
// bathy-linalg-from-bathy: the patterns of ToLinalg/*.cpp (one file per op
// family) applied to every kernel, and an error for each op left. This is
// where the target-neutral part of code generation ends: nothing here knows
// the CPU (see docs/architecture.md).
//
//===----------------------------------------------------------------------===//
#include "ToLinalg/Common.h"
#include "bathy/Codegen/ToLinalg/Passes.h"
#include "bathy/Support/Diagnostics.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "bathy-linalg-from-bathy"

namespace bathy {
#define GEN_PASS_DEF_LINALGFROMBATHYPASS
#include "bathy/Codegen/ToLinalg/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

namespace {

struct LinalgFromBathyPass
    : bathy::impl::LinalgFromBathyPassBase<LinalgFromBathyPass> {
  using LinalgFromBathyPassBase::LinalgFromBathyPassBase;

  void runOnOperation() override {
    // Weights elided from text IR would compile to whatever the missing
    // blob reads as: refuse them.
    bool missingWeights = false;
    getOperation().walk([&](ConstantOp op) {
      auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue());
      if (!resource || resource.getRawHandle().getBlob())
        return;
      op.emitError("the weights of this constant (resource '")
          << resource.getRawHandle().getKey()
          << "') are not in the IR: text IR elides weights over 1 KiB unless "
             "printed with --keep-weights (bathy-import --keep-weights, or "
             "--emit-bytecode)";
      missingWeights = true;
    });
    if (missingWeights)
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    codegen::populateElementwiseToLinalg(patterns);
    codegen::populateContractionToLinalg(patterns);
    codegen::populatePoolingToLinalg(patterns);
    codegen::populateReductionToLinalg(patterns);
    codegen::populateDataMovementToLinalg(patterns);
    if (lowerHost)
      codegen::populateHostToCalls(patterns);
    FrozenRewritePatternSet frozen(std::move(patterns));
    bool failedAny = false;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || (!lowerHost && !func->hasAttr(kKernelAttrName)))
        continue;
      unsigned before = 0;
      // bathy.check is kernel IR: lowering writes it, each target lowers it.
      auto isGraphOp = [](Operation *op) {
        return isa<BathyDialect>(op->getDialect()) && !isa<CheckOp>(op);
      };
      func.walk([&](Operation *op) {
        if (isGraphOp(op))
          ++before;
      });
      GreedyRewriteConfig config;
      config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
      (void)applyPatternsGreedily(func, frozen, config);
      unsigned after = 0;
      func.walk([&](Operation *op) {
        if (!isGraphOp(op))
          return;
        ++after;
        if (isa<AttentionOp>(op)) {
          op->emitError("bathy.attention is lowered by each target before "
                        "bathy-linalg-from-bathy (on the CPU: "
                        "bathy-cpu-attention-to-runtime)");
          failedAny = true;
          return;
        }
        InFlightDiagnostic diag = op->emitError()
                                  << "'" << op->getName()
                                  << "' has no lowering to linalg for ";
        llvm::interleaveComma(op->getOperandTypes(), diag);
        diag << " -> ";
        llvm::interleaveComma(op->getResultTypes(), diag);
        diag << " yet";
        failedAny = true;
      });
      numLowered += before - after;
      LLVM_DEBUG(llvm::dbgs()
                 << "@" << func.getSymName() << ": " << before - after << " of "
                 << before << " ops lowered\n");
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
