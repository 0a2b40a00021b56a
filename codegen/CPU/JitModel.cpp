//===- JitModel.cpp - Compile a bathy module in process and run it --------===//
#include "bathy/Codegen/JitModel.h"

#include <cstdlib>
#include <cstring>

#include "bathy/Codegen/ExecutionPlan.h"
#include "bathy/Codegen/Pipelines.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/cpu/kernels.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace bathy {

JitModel::~JitModel() {
  for (const Weight &w : weights_)
    bathy_rt_unregister_constant(w.data.get());
}

/// Constants at least this large stay out of the LLVM module.
static constexpr int64_t kExternalWeightBytes = 4096;

void JitModel::externalizeWeights(ModuleOp module, bool releaseBlobs) {
  // LLVM would otherwise copy every weight into an IR constant, run its
  // passes over them and emit them into the object: for ResNet-50 that was
  // most of a 50 s compile. Instead each large memref.global becomes an
  // external declaration whose symbol resolves to a copy owned here.
  // Globals initialized from each blob, so a blob can be emptied (when the
  // caller allows it) as soon as its last global was copied: the peak then
  // holds each weight about once, not twice.
  llvm::DenseMap<DialectResourceBlobManager::BlobEntry *, int> users;
  for (auto global : module.getOps<memref::GlobalOp>())
    if (auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(
            global.getInitialValueAttr()))
      ++users[blob.getRawHandle().getResource()];
  for (auto global : module.getOps<memref::GlobalOp>()) {
    auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(
        global.getInitialValueAttr());
    if (!blob || !blob.getRawHandle().getBlob())
      continue;
    ArrayRef<char> bytes = blob.getRawHandle().getBlob()->getData();
    if (static_cast<int64_t>(bytes.size()) < kExternalWeightBytes)
      continue;
    Weight w;
    w.symbol =
        ("bathy_weight_" + Twine(weights_.size()) + "_" + global.getSymName())
            .str();
    size_t size = (bytes.size() + 63) / 64 * 64;
    w.data = {static_cast<char *>(std::aligned_alloc(64, size)), std::free};
    std::memcpy(w.data.get(), bytes.data(), bytes.size());
    if (failed(SymbolTable::replaceAllSymbolUses(
            global, StringAttr::get(module.getContext(), w.symbol), module)))
      continue;
    bathy_rt_register_constant(w.data.get(),
                               static_cast<int64_t>(bytes.size()));
    auto *entry = blob.getRawHandle().getResource();
    global.setSymName(w.symbol);
    global.removeInitialValueAttr();
    global.setPublic();
    weights_.push_back(std::move(w));
    if (releaseBlobs && --users[entry] == 0)
      entry->setBlob(AsmResourceBlob());
  }
}

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
  PassManager kernelPm(ctx);
  buildKernelPipeline(kernelPm, kernelOptions);
  if (failed(kernelPm.run(module)))
    return failure();
  auto main = module.lookupSymbol<func::FuncOp>("main");
  FailureOr<rt::Plan> plan =
      buildExecutionPlan(main, opts.releaseWeightBlobs);
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

  PassManager pm(ctx);
  buildCpuCodegenPipeline(pm, Phase::Bufferized, opts.pipeline,
                          /*lowerHost=*/false);
  if (failed(pm.run(module)))
    return failure();
  model->externalizeWeights(module, opts.releaseWeightBlobs);
  PassManager toLLVM(module.getContext());
  buildCpuToLLVMPipeline(toLLVM);
  if (failed(toLLVM.run(module)))
    return failure();

  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  ExecutionEngineOptions engineOptions;
  // The optimizer needs the host's target machine: without it LLVM's cost
  // models know no vector registers and the loop vectorizer does nothing.
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return module.emitError("cannot describe the host CPU: ")
           << llvm::toString(hostBuilder.takeError());
  auto hostMachine = hostBuilder->createTargetMachine();
  if (!hostMachine)
    return module.emitError("cannot create a target machine for the host: ")
           << llvm::toString(hostMachine.takeError());
  // The options hold a function_ref: the transformer must outlive create().
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(opts.optLevel, /*sizeLevel=*/0,
                                hostMachine->get());
  engineOptions.transformer = transformer;
  // memrefCopy and friends for strided copies.
  static const std::string runnerUtils =
      std::string(BATHY_MLIR_LIB_DIR) + "/libmlir_c_runner_utils.so";
  SmallVector<StringRef> libs = {runnerUtils};
  engineOptions.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return module.emitError("JIT compilation failed: ") << message;
  }
  model->engine_ = std::move(*engine);
  // Microkernel calls resolve to the runtime linked into this process.
  const std::vector<Weight> &weights = model->weights_;
  model->engine_->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    int count = 0;
    const rt::KernelSymbol *symbols = rt::KernelSymbols(&count);
    for (int i = 0; i < count; ++i)
      map[interner(symbols[i].name)] = {
          llvm::orc::ExecutorAddr::fromPtr(symbols[i].address),
          llvm::JITSymbolFlags::Exported};
    for (const Weight &w : weights)
      map[interner(w.symbol)] = {llvm::orc::ExecutorAddr::fromPtr(w.data.get()),
                                 llvm::JITSymbolFlags::Exported};
    return map;
  });
  std::vector<rt::KernelEntry> entries;
  for (const std::string &name : plan->kernels) {
    auto entry = model->engine_->lookupPacked("_mlir_ciface_" + name);
    if (!entry)
      return module.emitError("kernel '")
             << name << "' has no entry point: "
             << llvm::toString(entry.takeError());
    entries.push_back(*entry);
  }
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
