//===- KernelDedup.cpp - Launches of identical kernels share one ----------===//
//
// Two kernels are identical when their function types and printed bodies
// (generic form, no locations, names local to the kernel) agree. The first
// of a kind stays; launches of the others point at it and keep their own
// ONNX nodes as a `bathy.nodes` attribute, which the execution plan reads.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"
#include "mlir/IR/AsmState.h"
#include "llvm/ADT/StringMap.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-kernel-dedup"

namespace bathy {
#define GEN_PASS_DEF_KERNELDEDUPPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

/// The kernel's type and body as text: equal text, equal code.
std::string fingerprint(func::FuncOp kernel) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << kernel.getFunctionType() << "\n";
  OpPrintingFlags flags;
  flags.printGenericOpForm().enableDebugInfo(false);
  AsmState state(kernel, flags);
  for (BlockArgument arg : kernel.getArguments())
    arg.printAsOperand(os, state);
  os << "\n";
  for (Operation &op : kernel.getBody().front()) {
    op.print(os, state);
    os << "\n";
  }
  return out;
}

struct KernelDedupPass : impl::KernelDedupPassBase<KernelDedupPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::StringMap<func::FuncOp> first;
    llvm::DenseMap<StringAttr, func::FuncOp> replacement;
    for (auto kernel : module.getOps<func::FuncOp>()) {
      if (!kernel->hasAttr(kKernelAttrName) || kernel.isExternal() ||
          !kernel.getBody().hasOneBlock())
        continue;
      auto [it, fresh] = first.try_emplace(fingerprint(kernel), kernel);
      if (!fresh)
        replacement[kernel.getSymNameAttr()] = it->second;
    }
    if (replacement.empty())
      return;
    // Every launch records its own nodes before kernels are shared.
    module.walk([&](LaunchOp launch) {
      auto kernel =
          module.lookupSymbol<func::FuncOp>(launch.getKernelAttr().getAttr());
      if (!kernel)
        return;
      if (!launch->hasAttr(kKernelNodesAttrName))
        if (Attribute nodes = kernel->getAttr(kKernelNodesAttrName))
          launch->setAttr(kKernelNodesAttrName, nodes);
      auto it = replacement.find(kernel.getSymNameAttr());
      if (it != replacement.end())
        launch.setKernelAttr(FlatSymbolRefAttr::get(it->second));
    });
    for (auto &[name, kept] : replacement) {
      LLVM_DEBUG(llvm::dbgs()
                 << "@" << name << " is identical to @" << kept << "\n");
      module.lookupSymbol<func::FuncOp>(name).erase();
      ++numMerged;
    }
  }
};

} // namespace
} // namespace bathy
