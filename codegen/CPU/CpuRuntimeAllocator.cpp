//===- CpuRuntimeAllocator.cpp - Buffers from the runtime allocator -------===//
//
// finalize-memref-to-llvm{use-generic-functions} allocates and frees through
// _mlir_memref_to_llvm_alloc/_free; this pass points those calls at the
// runtime's bathy_rt_alloc/bathy_rt_free (same signatures), which account
// for memory and stop a run whose buffer does not fit.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "runtime/cpu/entry_points.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-runtime-allocator"

namespace bathy {
#define GEN_PASS_DEF_CPURUNTIMEALLOCATORPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

struct CpuRuntimeAllocatorPass
    : impl::CpuRuntimeAllocatorPassBase<CpuRuntimeAllocatorPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    const std::pair<StringRef, StringRef> renames[] = {
        {"_mlir_memref_to_llvm_alloc", rt::entry::kAlloc},
        {"_mlir_memref_to_llvm_free", rt::entry::kFree},
    };
    for (auto [from, to] : renames) {
      auto decl = module.lookupSymbol<LLVM::LLVMFuncOp>(from);
      if (!decl)
        continue;
      if (module.lookupSymbol(to)) {
        module.emitError("both '") << from << "' and '" << to << "' exist";
        return signalPassFailure();
      }
      if (failed(SymbolTable::replaceAllSymbolUses(
              decl, StringAttr::get(&getContext(), to), module))) {
        decl.emitError("cannot redirect the uses of '") << from << "'";
        return signalPassFailure();
      }
      SymbolTable::setSymbolName(decl, to);
    }
    // An aligned allocation has no runtime counterpart: the pipeline never
    // asks for one (use-aligned-alloc is off).
    if (auto aligned = module.lookupSymbol<LLVM::LLVMFuncOp>(
            "_mlir_memref_to_llvm_aligned_alloc")) {
      aligned.emitError("aligned kernel allocations are not supported by the "
                        "runtime's allocator");
      return signalPassFailure();
    }
  }
};

} // namespace
} // namespace bathy
