//===- JitModel.cpp - Compile a bathy module in process and run it --------===//
#include "bathy/Codegen/CPU/JitModel.h"

#include "bathy/Codegen/CPU/ExecutionPlan.h"
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Codegen/CPU/Pipelines.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Threading.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/cpu/kernels.h"
#include "runtime/memory.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace bathy {

namespace {

/// Every tensor with a static shape must fit the memory limit: an op whose
/// result would need more (ConstantOfShape [2^40], an Expand or Pad that
/// large) is an error naming its node and the size, before anything is
/// allocated or a size computation wraps.
LogicalResult checkStaticSizes(ModuleOp module) {
  int64_t limit = rt::MemoryLimit();
  bool failedAny = false;
  auto check = [&](Value v, Operation *at, StringRef what) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || failedAny)
      return;
    Type element = type.getElementType();
    uint64_t bytes =
        element.isIntOrFloat()
            ? std::max<uint64_t>(1, element.getIntOrFloatBitWidth() / 8)
            : 8;
    bool overflow = false;
    for (int64_t d : type.getShape())
      overflow |=
          __builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes);
    if (!overflow && bytes <= static_cast<uint64_t>(limit))
      return;
    InFlightDiagnostic diag = at->emitError() << what << " of type " << type;
    if (overflow || bytes > static_cast<uint64_t>(INT64_MAX))
      diag << " has more bytes than memory can address";
    else
      diag << " needs " << rt::FormatBytes(static_cast<int64_t>(bytes))
           << ", more than the memory limit of " << rt::FormatBytes(limit)
           << " (--max-memory)";
    failedAny = true;
  };
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      // The model's inputs (a kernel's arguments are results elsewhere).
      if (func.getSymName() != "main")
        return;
      for (BlockArgument arg : func.getArguments()) {
        std::string name = "input " + std::to_string(arg.getArgNumber());
        if (auto attr = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                          "bathy.name"))
          name = "input '" + attr.str() + "'";
        check(arg, op, name);
      }
      return;
    }
    for (Value result : op->getResults())
      check(result, op, "a result");
  });
  return failure(failedAny);
}

} // namespace

JitModel::~JitModel() = default;

FailureOr<std::unique_ptr<JitModel>> JitModel::compile(ModuleOp module,
                                                       const JitOptions &opts) {
  if (!module.lookupSymbol<func::FuncOp>("main"))
    return module.emitError("the module has no @main to run");
  std::unique_ptr<JitModel> model(new JitModel());
  MLIRContext *ctx = module.getContext();

  // Kernels, with shape arithmetic outlined too: @main is then constants
  // and launches, which is the execution plan.
  PipelineOptions kernelOptions = opts.pipeline;
  kernelOptions.shapeKernels = true;
  auto progress = [&](StringRef what) {
    if (opts.progress)
      opts.progress(what);
  };
  progress("graph passes and fusion");
  PassManager kernelPm(ctx);
  buildKernelPipeline(kernelPm, kernelOptions);
  // Identical kernels (repeated layers, wide graphs) are compiled once.
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
  // Kernels are entered from the executor through their C interface. They
  // own none of their arguments: one-shot bufferization copies an argument
  // before writing into it (other launches and the plan's constants may
  // still read it).
  for (auto kernel : module.getOps<func::FuncOp>()) {
    if (!kernel->hasAttr(kKernelAttrName))
      continue;
    kernel.setPublic();
    kernel->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    for (unsigned i = 0; i < kernel.getNumArguments(); ++i)
      kernel.setArgAttr(i, "bufferization.writable", BoolAttr::get(ctx, false));
  }

  // Kernels are independent: they go into chunks (nested modules) that the
  // pass manager lowers in parallel, and each chunk becomes its own LLVM
  // module and JIT, compiled in parallel too. A few chunks per thread keep
  // the threads busy when kernels differ in size.
  SmallVector<func::FuncOp> kernels(module.getOps<func::FuncOp>());
  unsigned threads =
      ctx->isMultithreadingEnabled() ? std::max(1u, ctx->getNumThreads()) : 1u;
  size_t numChunks = std::clamp<size_t>(kernels.size(), 1, 4 * threads);
  SmallVector<ModuleOp> chunks;
  {
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    for (size_t i = 0; i < numChunks; ++i)
      chunks.push_back(
          ModuleOp::create(b, module.getLoc(), ("chunk" + Twine(i)).str()));
    for (auto [i, kernel] : llvm::enumerate(kernels))
      kernel->moveBefore(chunks[i % numChunks].getBody(),
                         chunks[i % numChunks].getBody()->end());
  }
  llvm::StringMap<ModuleOp> chunkOf;
  for (ModuleOp chunk : chunks)
    for (auto kernel : chunk.getOps<func::FuncOp>())
      chunkOf[kernel.getSymName()] = chunk;

  progress(("lowering " + Twine(plan->kernels.size()) + " kernels").str());
  PassManager pm(ctx);
  buildCpuCodegenPipeline(pm.nest<ModuleOp>(), Phase::Bufferized, opts.pipeline,
                          /*lowerHost=*/false);
  if (failed(pm.run(module)))
    return failure();
  // The plan decided from tensor types which steps pass destinations; the
  // kernels must have been compiled that way.
  for (const rt::Plan::Step &step : plan->steps) {
    const std::string &name = plan->kernels[step.kernel];
    auto it = chunkOf.find(name);
    auto kernel = it == chunkOf.end()
                      ? func::FuncOp()
                      : it->second.lookupSymbol<func::FuncOp>(name);
    if (!kernel ||
        kernel->hasAttr(kKernelDestinationsAttrName) != step.destinations)
      return module.emitError("kernel '")
             << name << "' was not compiled for its launch in the plan";
  }
  PassManager toLLVM(module.getContext());
  buildCpuToLLVMPipeline(toLLVM.nest<ModuleOp>(), opts.pipeline);
  if (failed(toLLVM.run(module)))
    return failure();
  // Only each kernel's C-interface wrapper is entered from outside: the
  // kernel itself becomes internal (inlined into the wrapper), so LLVM
  // compiles two functions per kernel (the wrapper and the packed entry
  // the ExecutionEngine adds) instead of four.
  for (const std::string &name : plan->kernels)
    if (auto fn = chunkOf[name].lookupSymbol<LLVM::LLVMFuncOp>(name))
      fn.setLinkage(LLVM::Linkage::Internal);

  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  progress(("generating code for " + Twine(plan->kernels.size()) +
            " kernels (LLVM, " + Twine(numChunks) + " modules)")
               .str());
  // The optimizer needs the host's target machine: without it LLVM's cost
  // models know no vector registers and the loop vectorizer does nothing.
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return module.emitError("cannot describe the host CPU: ")
           << llvm::toString(hostBuilder.takeError());
  std::vector<std::unique_ptr<ExecutionEngine>> engines(numChunks);
  std::vector<std::string> errors(numChunks);
  mlir::parallelFor(ctx, 0, numChunks, [&](size_t i) {
    // One target machine per thread: they are not shared across threads.
    auto machine = hostBuilder->createTargetMachine();
    if (!machine) {
      errors[i] = "cannot create a target machine for the host: " +
                  llvm::toString(machine.takeError());
      return;
    }
    ExecutionEngineOptions engineOptions;
    // The options hold a function_ref: the transformer must outlive
    // create().
    std::function<llvm::Error(llvm::Module *)> transformer =
        makeOptimizingTransformer(opts.optLevel, /*sizeLevel=*/0,
                                  machine->get());
    engineOptions.transformer = transformer;
    // No shared libraries: every function kernels call (microkernels,
    // memrefCopy, allocation) resolves to the runtime linked into this
    // process, so a bathy binary copied to another machine needs no MLIR
    // runtime library at a path of the build machine.
    auto engine = ExecutionEngine::create(chunks[i], engineOptions);
    if (!engine) {
      errors[i] =
          "JIT compilation failed: " + llvm::toString(engine.takeError());
      return;
    }
    // Microkernel calls resolve to the runtime linked into this process.
    (*engine)->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap map;
      int count = 0;
      const rt::KernelSymbol *symbols = rt::KernelSymbols(&count);
      for (int k = 0; k < count; ++k)
        map[interner(symbols[k].name)] = {
            llvm::orc::ExecutorAddr::fromPtr(symbols[k].address),
            llvm::JITSymbolFlags::Exported};
      return map;
    });
    engines[i] = std::move(*engine);
  });
  for (const std::string &error : errors)
    if (!error.empty())
      return module.emitError(error);
  std::vector<rt::KernelEntry> entries;
  for (const std::string &name : plan->kernels) {
    size_t i = llvm::find(chunks, chunkOf[name]) - chunks.begin();
    auto entry = engines[i]->lookupPacked("_mlir_ciface_" + name);
    if (!entry)
      return module.emitError("kernel '")
             << name
             << "' has no entry point: " << llvm::toString(entry.takeError());
    entries.push_back(*entry);
  }
  for (auto &engine : engines)
    model->engines_.push_back(std::move(engine));
  absl::StatusOr<std::unique_ptr<rt::CpuExecutor>> executor =
      rt::CpuExecutor::Create(std::move(*plan), std::move(entries));
  if (!executor.ok())
    return module.emitError(std::string(executor.status().message()));
  model->executor_ = std::move(*executor);
  return model;
}

absl::StatusOr<std::vector<rt::HostTensor>>
JitModel::run(const std::vector<rt::HostTensor> &inputs) const {
  std::vector<const rt::HostTensor *> pointers;
  for (const rt::HostTensor &t : inputs)
    pointers.push_back(&t);
  return executor_->Run(pointers);
}

} // namespace bathy
