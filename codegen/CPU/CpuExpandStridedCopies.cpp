//===- CpuExpandStridedCopies.cpp - Non-contiguous memref.copy as loops ---===//
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-expand-strided-copies"

namespace bathy {
#define GEN_PASS_DEF_CPUEXPANDSTRIDEDCOPIESPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {
struct CpuExpandStridedCopiesPass
    : impl::CpuExpandStridedCopiesPassBase<CpuExpandStridedCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      auto src = dyn_cast<MemRefType>(copy.getSource().getType());
      auto dst = dyn_cast<MemRefType>(copy.getTarget().getType());
      // Identity layouts become memcpy already; keep those.
      if (src && dst &&
          (!src.getLayout().isIdentity() || !dst.getLayout().isIdentity()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      LLVM_DEBUG(llvm::dbgs()
                 << "strided copy as loops at " << copy.getLoc() << "\n");
      copy.erase();
      ++numExpanded;
    }
  }
};
} // namespace
} // namespace bathy
