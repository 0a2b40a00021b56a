//===- SharedObject.cpp - A model's CPU kernels as one shared object ------===//
#include "bathy/Codegen/CPU/SharedObject.h"

#include "bathy/Codegen/CPU/ExecutionPlan.h"
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Threading.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "runtime/cpu/cpu_features.h"
#include "runtime/cpu/entry_points.h"
#include "runtime/cpu/kernels.h"
#include "runtime/memory.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#define DEBUG_TYPE "bathy-cpu-shared-object"

using namespace mlir;

namespace bathy {

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

namespace {

/// The runtime functions generated code may call, in the import table's
/// order.
std::vector<std::string> runtimeFunctions() {
  int count = 0;
  const rt::KernelSymbol *symbols = rt::KernelSymbols(&count);
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i)
    names.push_back(symbols[i].name);
  return names;
}

/// The import table's type: {name, address} per runtime function.
llvm::ArrayType *importTableType(llvm::LLVMContext &ctx, size_t n) {
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  return llvm::ArrayType::get(llvm::StructType::get(ctx, {ptr, ptr}), n);
}

/// Calls of runtime functions go through the import table: each
/// declaration becomes an internal function that loads the address the
/// loader wrote and calls it (inlined into its callers).
void callRuntimeThroughImports(llvm::Module &m,
                               const std::vector<std::string> &runtime) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::ArrayType *tableType = importTableType(ctx, runtime.size());
  llvm::GlobalVariable *table = nullptr;
  for (auto [i, name] : llvm::enumerate(runtime)) {
    llvm::Function *f = m.getFunction(name);
    if (!f || !f->isDeclaration())
      continue;
    if (!table)
      table = new llvm::GlobalVariable(m, tableType, /*isConstant=*/false,
                                       llvm::GlobalValue::ExternalLinkage,
                                       nullptr, rt::entry::kImportTable);
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", f));
    llvm::Value *slot = b.CreateConstInBoundsGEP2_32(
        tableType->getElementType(), table, static_cast<unsigned>(i), 1);
    llvm::Value *target = b.CreateLoad(llvm::PointerType::getUnqual(ctx), slot);
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f->args())
      args.push_back(&a);
    llvm::CallInst *call = b.CreateCall(f->getFunctionType(), target, args);
    if (f->getReturnType()->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(call);
  }
}

/// The import table itself (one definition for the whole shared object):
/// each runtime function's name, and a null address for the loader.
std::unique_ptr<llvm::Module>
importTableModule(llvm::LLVMContext &ctx,
                  const std::vector<std::string> &runtime) {
  auto m = std::make_unique<llvm::Module>("imports", ctx);
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::ArrayType *tableType = importTableType(ctx, runtime.size());
  std::vector<llvm::Constant *> entries;
  for (const std::string &name : runtime) {
    llvm::Constant *str = llvm::ConstantDataArray::getString(ctx, name);
    auto *g = new llvm::GlobalVariable(*m, str->getType(), true,
                                       llvm::GlobalValue::PrivateLinkage, str,
                                       ".name." + name);
    entries.push_back(llvm::ConstantStruct::get(
        llvm::cast<llvm::StructType>(tableType->getElementType()),
        {g, llvm::ConstantPointerNull::get(ptr)}));
  }
  new llvm::GlobalVariable(
      *m, tableType, false, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantArray::get(tableType, entries), rt::entry::kImportTable);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  new llvm::GlobalVariable(*m, i64, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i64, runtime.size()),
                           rt::entry::kImportCount);
  return m;
}

/// The packed entry point of each kernel (rt::KernelEntry): one pointer
/// per argument of its C interface, then one for the result, if any.
void addPackedEntries(llvm::Module &m, ArrayRef<std::string> kernels) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  for (const std::string &kernel : kernels) {
    llvm::Function *f = m.getFunction("_mlir_ciface_" + kernel);
    if (!f || f->isDeclaration())
      continue;
    auto *type =
        llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false);
    llvm::Function *entry =
        llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                               rt::entry::kEntryPrefix + kernel, m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
    llvm::Value *packed = entry->getArg(0);
    llvm::SmallVector<llvm::Value *> args;
    for (auto [i, a] : llvm::enumerate(f->args())) {
      llvm::Value *at = b.CreateLoad(
          ptr, b.CreateConstGEP1_64(ptr, packed, static_cast<int64_t>(i)));
      args.push_back(b.CreateLoad(a.getType(), at));
    }
    llvm::CallInst *call = b.CreateCall(f, args);
    if (!f->getReturnType()->isVoidTy()) {
      llvm::Value *at = b.CreateLoad(
          ptr, b.CreateConstGEP1_64(ptr, packed,
                                    static_cast<int64_t>(f->arg_size())));
      b.CreateStore(call, at);
    }
    b.CreateRetVoid();
    // Entered only through the packed entry: LLVM inlines it there.
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
  }
}

/// A target machine for `cpu` ("host" or an LLVM CPU name), producing
/// position-independent code.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(StringRef cpu) {
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("no target for " + triple.str() + ": " +
                                   error);
  std::string name = cpu.str();
  std::string features;
  if (cpu == "host") {
    name = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    for (const auto &[feature, on] : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feature, on);
    features = f.getString();
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, name, features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    return llvm::createStringError("cannot create a target machine for '" +
                                   name + "'");
  if (!tm->getMCSubtargetInfo()->isCPUStringValid(name))
    return llvm::createStringError(
        "'" + cpu.str() +
        "' is not a CPU LLVM knows (try x86-64-v3, x86-64-v4 or host)");
  return tm;
}

} // namespace

std::string targetCpuIdentity(StringRef cpu) {
  if (cpu != "host")
    return cpu.str();
  std::string out = "host " + llvm::sys::getHostCPUName().str();
  std::vector<std::string> on;
  for (const auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
    if (enabled)
      on.push_back(feature.str());
  std::sort(on.begin(), on.end());
  for (const std::string &f : on)
    out += " +" + f;
  return out;
}

namespace {

/// Object code for `m`, optimized at `optLevel` for `tm`.
llvm::Expected<std::string> emitObject(llvm::Module &m, llvm::TargetMachine &tm,
                                       unsigned optLevel) {
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple());
  if (llvm::Error e =
          makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, &tm)(&m))
    return e;
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the target cannot emit object files");
  pm.run(m);
  return std::string(buffer.begin(), buffer.end());
}

/// Removes a temporary directory and what is in it.
struct TempDir {
  SmallString<128> path;
  ~TempDir() {
    if (!path.empty())
      (void)llvm::sys::fs::remove_directories(path);
  }
};

/// One shared object from `objects`, linked by ld.lld.
llvm::Expected<std::string> linkSharedObject(ArrayRef<std::string> objects) {
  std::string lld = findLinker();
  if (lld.empty())
    return llvm::createStringError(
        "cannot find ld.lld to link the kernels (install lld-22, or set "
        "BATHY_LLD to its path)");
  TempDir dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("bathy-link", dir.path))
    return llvm::createStringError("cannot create a temporary directory: " +
                                   ec.message());
  std::vector<std::string> args = {lld,
                                   "-shared",
                                   "--build-id=none",
                                   "--hash-style=gnu",
                                   "-z",
                                   "noexecstack",
                                   "-z",
                                   "now",
                                   "-z",
                                   "relro",
                                   "-soname=bathy-kernels.so",
                                   "-o"};
  SmallString<128> out(dir.path);
  llvm::sys::path::append(out, "kernels.so");
  args.push_back(out.str().str());
  for (auto [i, object] : llvm::enumerate(objects)) {
    SmallString<128> p(dir.path);
    llvm::sys::path::append(p, "k" + std::to_string(i) + ".o");
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    if (ec)
      return llvm::createStringError("cannot write " + p.str().str() + ": " +
                                     ec.message());
    os << object;
    os.close();
    args.push_back(p.str().str());
  }
  SmallString<128> log(dir.path);
  llvm::sys::path::append(log, "lld.log");
  std::vector<StringRef> argv(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(lld, argv, std::nullopt, redirects,
                                     /*SecondsToWait=*/600, 0, &error);
  if (rc != 0) {
    std::string text;
    if (auto buf = llvm::MemoryBuffer::getFile(log))
      text = (*buf)->getBuffer().str();
    return llvm::createStringError("linking the kernels with " + lld +
                                   " failed" +
                                   (error.empty() ? "" : ": " + error) +
                                   (text.empty() ? "" : ":\n" + text));
  }
  auto so = llvm::MemoryBuffer::getFile(out);
  if (!so)
    return llvm::createStringError("cannot read the linked kernels: " +
                                   so.getError().message());
  return (*so)->getBuffer().str();
}

} // namespace

std::string findLinker() {
  if (const char *env = std::getenv("BATHY_LLD"); env && *env)
    return env;
  for (const char *name : {"ld.lld-22", "ld.lld"})
    if (auto path = llvm::sys::findProgramByName(name))
      return *path;
#ifdef BATHY_LLVM_TOOLS_DIR
  SmallString<128> p(BATHY_LLVM_TOOLS_DIR);
  llvm::sys::path::append(p, "ld.lld");
  if (llvm::sys::fs::can_execute(p))
    return p.str().str();
#endif
  return {};
}

FailureOr<rt::Plan> outlineKernelsAndPlan(ModuleOp module,
                                          const PipelineOptions &options,
                                          bool releaseWeightBlobs) {
  MLIRContext *ctx = module.getContext();
  // Kernels, with shape arithmetic outlined too: @main is then constants
  // and launches, which is the execution plan.
  PipelineOptions kernelOptions = options;
  kernelOptions.shapeKernels = true;
  PassManager kernelPm(ctx);
  buildKernelPipeline(kernelPm, kernelOptions);
  // Identical kernels (repeated layers, wide graphs) are compiled once.
  kernelPm.addPass(createKernelDedupPass());
  if (failed(kernelPm.run(module)))
    return failure();
  if (failed(checkStaticSizes(module)))
    return failure();
  auto main = module.lookupSymbol<func::FuncOp>("main");
  FailureOr<rt::Plan> plan = buildExecutionPlan(main, releaseWeightBlobs);
  if (failed(plan))
    return failure();
  main.erase();
  // Kernels own none of their arguments: one-shot bufferization copies an
  // argument before writing into it (other launches and the plan's
  // constants may still read it).
  for (auto kernel : module.getOps<func::FuncOp>()) {
    if (!kernel->hasAttr(kKernelAttrName))
      continue;
    kernel.setPublic();
    for (unsigned i = 0; i < kernel.getNumArguments(); ++i)
      kernel.setArgAttr(i, "bufferization.writable", BoolAttr::get(ctx, false));
  }
  return plan;
}

FailureOr<CpuCompiledModel> compileForCpu(ModuleOp module,
                                          const CpuCompileOptions &opts) {
  if (!module.lookupSymbol<func::FuncOp>("main"))
    return module.emitError("the module has no @main to run");
  MLIRContext *ctx = module.getContext();
  auto progress = [&](StringRef what) {
    if (opts.progress)
      opts.progress(what);
  };

  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  // The target first: a CPU name LLVM does not know is an error before any
  // work.
  auto probe = createTargetMachine(opts.cpu);
  if (!probe)
    return module.emitError(llvm::toString(probe.takeError()));
  CpuCompiledModel out;
  out.cpu = (*probe)->getTargetCPU().str();
  for (const char *feature : rt::kCheckedCpuFeatures)
    if ((*probe)->getMCSubtargetInfo()->checkFeatures(std::string("+") +
                                                      feature))
      out.cpuFeatures.push_back(feature);

  progress("graph passes and fusion");
  FailureOr<rt::Plan> plan =
      outlineKernelsAndPlan(module, opts.pipeline, opts.releaseWeightBlobs);
  if (failed(plan))
    return failure();
  // Kernels are entered from the executor through their C interface.
  for (auto kernel : module.getOps<func::FuncOp>())
    if (kernel->hasAttr(kKernelAttrName))
      kernel->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));

  // Kernels are independent: they go into chunks (nested modules) that the
  // pass manager lowers in parallel, and each chunk becomes its own LLVM
  // module and object file, compiled in parallel too. A few chunks per
  // thread keep the threads busy when kernels differ in size. The chunking
  // depends on the kernel count only, so the code does not depend on the
  // machine's thread count.
  SmallVector<func::FuncOp> kernels(module.getOps<func::FuncOp>());
  size_t numChunks = std::clamp<size_t>(kernels.size(), 1, 16);
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
  // Only each kernel's packed entry is entered from outside: the kernel and
  // its C-interface wrapper become internal (inlined into the entry).
  for (const std::string &name : plan->kernels)
    if (auto fn = chunkOf[name].lookupSymbol<LLVM::LLVMFuncOp>(name))
      fn.setLinkage(LLVM::Linkage::Internal);

  progress(("generating code for " + Twine(plan->kernels.size()) +
            " kernels (LLVM, " + Twine(numChunks) + " modules, " + out.cpu +
            ")")
               .str());
  std::vector<std::string> runtime = runtimeFunctions();
  std::vector<std::string> objects(numChunks + 1);
  std::vector<std::string> errors(numChunks + 1);
  // Progress as chunks finish: kernels with code so far, of all.
  std::mutex progressMutex;
  size_t kernelsDone = 0;
  std::vector<size_t> kernelsIn(numChunks + 1, 0);
  for (const std::string &name : plan->kernels)
    ++kernelsIn[llvm::find(chunks, chunkOf[name]) - chunks.begin()];
  size_t kernelsTotal = plan->kernels.size();
  mlir::parallelFor(ctx, 0, numChunks + 1, [&](size_t i) {
    // One LLVM context and target machine per thread: neither is shared.
    llvm::LLVMContext llvmCtx;
    auto tm = createTargetMachine(opts.cpu);
    if (!tm) {
      errors[i] = llvm::toString(tm.takeError());
      return;
    }
    std::unique_ptr<llvm::Module> m;
    if (i == numChunks) {
      m = importTableModule(llvmCtx, runtime);
    } else {
      m = translateModuleToLLVMIR(chunks[i], llvmCtx,
                                  ("chunk" + Twine(i)).str());
      if (!m) {
        errors[i] = "cannot translate kernels to LLVM IR";
        return;
      }
      callRuntimeThroughImports(*m, runtime);
      addPackedEntries(*m, plan->kernels);
      // Only the packed entries leave the object: helpers MLIR adds to
      // every module (dealloc_helper, message strings) must not collide
      // with another chunk's at link time.
      for (llvm::Function &f : *m)
        if (!f.isDeclaration() &&
            !f.getName().starts_with(rt::entry::kEntryPrefix))
          f.setLinkage(llvm::GlobalValue::InternalLinkage);
      for (llvm::GlobalVariable &g : m->globals())
        if (!g.isDeclaration())
          g.setLinkage(llvm::GlobalValue::InternalLinkage);
    }
    auto object = emitObject(*m, **tm, opts.optLevel);
    if (!object) {
      errors[i] = llvm::toString(object.takeError());
      return;
    }
    objects[i] = std::move(*object);
    if (i < numChunks && opts.progress) {
      std::lock_guard<std::mutex> lock(progressMutex);
      kernelsDone += kernelsIn[i];
      opts.progress(("code generated for " + Twine(kernelsDone) + " of " +
                     Twine(kernelsTotal) + " kernels")
                        .str());
    }
  });
  for (const std::string &error : errors)
    if (!error.empty())
      return module.emitError(error);
  progress("linking");
  auto so = linkSharedObject(objects);
  if (!so)
    return module.emitError(llvm::toString(so.takeError()));
  LLVM_DEBUG(llvm::dbgs() << "[" DEBUG_TYPE "] " << plan->kernels.size()
                          << " kernels, " << so->size() << " bytes of code for "
                          << out.cpu << "\n");
  out.plan = std::move(*plan);
  out.sharedObject = std::move(*so);
  return out;
}

} // namespace bathy
