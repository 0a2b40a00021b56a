//===- CudaCompile.cpp - A model as an execution plan and CUDA C++ --------===//
#include "bathy/Codegen/CPU/ExecutionPlan.h"
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Codegen/CPU/SharedObject.h"
#include "bathy/Codegen/CUDA/Cuda.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace bathy {

static llvm::cl::opt<bool>
    printCudaIR("bathy-cuda-print-ir", llvm::cl::Hidden,
                llvm::cl::desc("Print the kernels as the CUDA emitter gets "
                               "them (for bathy developers)"));

FailureOr<CudaCompiledModel> compileForCuda(ModuleOp module,
                                            const CudaCompileOptions &opts) {
  if (!module.lookupSymbol<func::FuncOp>("main"))
    return module.emitError("the module has no @main to run");
  MLIRContext *ctx = module.getContext();
  auto progress = [&](StringRef what) {
    if (opts.progress)
      opts.progress(what);
  };
  PipelineOptions options = cudaPipelineOptions(opts.pipeline);
  progress("graph passes and fusion");
  PassManager kernelPm(ctx);
  buildKernelPipeline(kernelPm, options);
  kernelPm.addPass(createKernelDedupPass());
  if (failed(kernelPm.run(module)))
    return failure();
  if (failed(checkStaticSizes(module)))
    return failure();
  auto main = module.lookupSymbol<func::FuncOp>("main");
  FailureOr<rt::Plan> plan = buildExecutionPlan(main, opts.releaseWeightBlobs);
  if (failed(plan))
    return failure();
  main.erase();
  for (auto kernel : module.getOps<func::FuncOp>()) {
    if (!kernel->hasAttr(kKernelAttrName))
      continue;
    kernel.setPublic();
    for (unsigned i = 0; i < kernel.getNumArguments(); ++i)
      kernel.setArgAttr(i, "bufferization.writable", BoolAttr::get(ctx, false));
  }
  progress(("lowering " + Twine(plan->kernels.size()) + " kernels").str());
  PassManager pm(ctx);
  buildCudaCodegenPipeline(pm, options);
  if (failed(pm.run(module)))
    return failure();
  for (const rt::Plan::Step &step : plan->steps) {
    const std::string &name = plan->kernels[step.kernel];
    auto kernel = module.lookupSymbol<func::FuncOp>(name);
    if (!kernel ||
        kernel->hasAttr(kKernelDestinationsAttrName) != step.destinations)
      return module.emitError("kernel '")
             << name << "' was not compiled for its launch in the plan";
  }
  if (printCudaIR)
    module.print(llvm::errs());
  progress("writing CUDA C++");
  CudaCompiledModel out;
  llvm::raw_string_ostream os(out.source);
  if (failed(translateToCuda(module, os)))
    return failure();
  out.plan = std::move(*plan);
  return out;
}

} // namespace bathy
