//===- CpuParallelLaunchToLLVM.cpp - Parallel launches call the runtime ---===//
//
// bathy-cpu-parallel-launch-to-llvm (LLVM dialect), the second half of
// bathy-cpu-parallelize: each launch declaration gets a body that packs its
// arguments into a stack record and hands a trampoline to the runtime's
// bathy_rt_parallel_for, which splits the range over the thread pool
// (runtime/cpu/kernels.h). The record is built after the LLVM conversion so
// that memref arguments are already plain descriptor fields; the task and
// the launch take the same arguments (after the range) and went through the
// same type conversion.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "runtime/cpu/entry_points.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-parallel-launch-to-llvm"

namespace bathy {
#define GEN_PASS_DEF_CPUPARALLELLAUNCHTOLLVMPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

struct CpuParallelLaunchToLLVMPass
    : impl::CpuParallelLaunchToLLVMPassBase<CpuParallelLaunchToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<LLVM::LLVMFuncOp> launches;
    module.walk([&](LLVM::LLVMFuncOp f) {
      if (f->hasAttr(kParallelTaskAttr) && f.isExternal())
        launches.push_back(f);
    });
    if (launches.empty())
      return;
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidTy = LLVM::LLVMVoidType::get(ctx);
    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    auto entryFn =
        module.lookupSymbol<LLVM::LLVMFuncOp>(rt::entry::kParallelFor);
    if (!entryFn)
      entryFn = LLVM::LLVMFuncOp::create(
          mb, module.getLoc(), rt::entry::kParallelFor,
          LLVM::LLVMFunctionType::get(voidTy, {i64, i64, ptr, ptr}));

    for (LLVM::LLVMFuncOp launch : launches) {
      LLVM_DEBUG(llvm::dbgs() << "launch @" << launch.getSymName()
                              << " calls the runtime's parallel_for\n");
      auto taskRef =
          dyn_cast<FlatSymbolRefAttr>(launch->getAttr(kParallelTaskAttr));
      auto task = taskRef ? module.lookupSymbol<LLVM::LLVMFuncOp>(taskRef)
                          : LLVM::LLVMFuncOp();
      auto grainAttr =
          dyn_cast_or_null<IntegerAttr>(launch->getAttr(kParallelGrainAttr));
      LLVM::LLVMFunctionType type = launch.getFunctionType();
      ArrayRef<Type> params = type.getParams();
      if (!task || !grainAttr || params.empty() || params[0] != i64 ||
          task.getFunctionType().getNumParams() != params.size() + 1) {
        launch.emitError("malformed parallel launch (task ")
            << launch->getAttr(kParallelTaskAttr) << ")";
        return signalPassFailure();
      }
      Location loc = launch.getLoc();
      ArrayRef<Type> fields = params.drop_front();
      auto record = LLVM::LLVMStructType::getLiteral(ctx, fields);

      // trampoline(record, begin, end): task(begin, end, fields...).
      auto tramp = LLVM::LLVMFuncOp::create(
          mb, loc, (launch.getSymName() + "_trampoline").str(),
          LLVM::LLVMFunctionType::get(voidTy, {ptr, i64, i64}),
          LLVM::Linkage::Internal);
      {
        Block *block = tramp.addEntryBlock(mb);
        OpBuilder b = OpBuilder::atBlockEnd(block);
        SmallVector<Value> args = {block->getArgument(1),
                                   block->getArgument(2)};
        for (auto [i, t] : llvm::enumerate(fields)) {
          Value addr = LLVM::GEPOp::create(
              b, loc, ptr, record, block->getArgument(0),
              ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
          args.push_back(LLVM::LoadOp::create(b, loc, t, addr));
        }
        LLVM::CallOp::create(b, loc, task, args);
        LLVM::ReturnOp::create(b, loc, ValueRange());
      }
      // launch(size, fields...): store the record, run the range.
      {
        Block *block = launch.addEntryBlock(mb);
        OpBuilder b = OpBuilder::atBlockEnd(block);
        Value one =
            LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
        Value slot = LLVM::AllocaOp::create(b, loc, ptr, record, one);
        for (auto [i, t] : llvm::enumerate(fields)) {
          Value addr = LLVM::GEPOp::create(
              b, loc, ptr, record, slot,
              ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
          LLVM::StoreOp::create(b, loc, block->getArgument(i + 1), addr);
        }
        Value grain = LLVM::ConstantOp::create(
            b, loc, i64, b.getI64IntegerAttr(grainAttr.getInt()));
        Value fn = LLVM::AddressOfOp::create(b, loc, tramp);
        LLVM::CallOp::create(
            b, loc, entryFn,
            ValueRange{block->getArgument(0), grain, fn, slot});
        LLVM::ReturnOp::create(b, loc, ValueRange());
      }
      // Only the trampoline calls the task: LLVM inlines it there instead of
      // keeping a second copy.
      task.setLinkage(LLVM::Linkage::Internal);
      launch.setLinkage(LLVM::Linkage::Internal);
      launch->removeAttr(kParallelTaskAttr);
      launch->removeAttr(kParallelGrainAttr);
    }
  }
};

} // namespace
} // namespace bathy
