//===- CpuKernelDestinations.cpp - Static-size results as out params ------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-kernel-destinations"

namespace bathy {
#define GEN_PASS_DEF_CPUKERNELDESTINATIONSPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

/// Results the executor can place: static shapes, dense row-major.
bool hasPlannableResults(func::FuncOp func) {
  if (!func->hasAttr(kKernelAttrName) || func.isExternal() ||
      func.getNumResults() == 0)
    return false;
  return llvm::all_of(func.getResultTypes(), [](Type t) {
    auto memref = dyn_cast<MemRefType>(t);
    return memref && memref.hasStaticShape() && memref.getLayout().isIdentity();
  });
}

struct CpuKernelDestinationsPass
    : impl::CpuKernelDestinationsPassBase<CpuKernelDestinationsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (hasPlannableResults(func))
        kernels.push_back(func);
    // One buffer returned as two results (CSE merges equal shape
    // computations a run of shape ops yields) needs two destinations:
    // later occurrences become copies.
    for (func::FuncOp k : kernels)
      k.walk([&](func::ReturnOp ret) {
        llvm::SmallDenseSet<Value> seen;
        OpBuilder b(ret);
        for (OpOperand &operand : ret->getOpOperands()) {
          if (seen.insert(operand.get()).second)
            continue;
          auto type = cast<MemRefType>(operand.get().getType());
          Value copy = memref::AllocOp::create(b, ret.getLoc(), type);
          memref::CopyOp::create(b, ret.getLoc(), operand.get(), copy);
          operand.set(copy);
        }
      });
    bufferization::BufferResultsToOutParamsOpts options;
    llvm::DenseSet<Operation *> chosen;
    for (func::FuncOp k : kernels)
      chosen.insert(k);
    options.filterFn = [&](func::FuncOp *func) {
      return chosen.contains(func->getOperation());
    };
    options.hoistStaticAllocs = true;
    options.modifyPublicFunctions = true;
    if (failed(bufferization::promoteBufferResultsToOutParams(module, options)))
      return signalPassFailure();
    for (func::FuncOp k : kernels)
      k->setAttr(kKernelDestinationsAttrName, UnitAttr::get(&getContext()));
    numConverted += kernels.size();
    LLVM_DEBUG(llvm::dbgs()
               << kernels.size() << " kernels write into destinations\n");
  }
};

} // namespace
} // namespace bathy
