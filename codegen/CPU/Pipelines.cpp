//===- Pipelines.cpp - bathy's compilation pipelines ----------------------===//
#include "bathy/Codegen/CPU/Pipelines.h"

#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Codegen/ToLinalg/Passes.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToFuncs/MathToFuncs.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/RuntimeOpVerification.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/RuntimeOpVerification.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace bathy {

void buildGraphPipeline(OpPassManager &pm) {
  // Inference and canonicalization alternate until shape computations stop
  // folding (Shape of a now-static tensor, dynamic slices and reshapes with
  // constant operands); simplify ends canonical, so no canonicalizer after.
  pm.addNestedPass<func::FuncOp>(createGraphSimplifyPass());
  // Symbolic sizes make more dims static (Reshape's -1 over dynamic dims)
  // and prove broadcasting operands equal; the second run annotates the ops
  // simplification left, so it comes last.
  pm.addNestedPass<func::FuncOp>(createGraphSymbolicDimsPass());
  pm.addNestedPass<func::FuncOp>(createGraphSimplifyPass());
  pm.addNestedPass<func::FuncOp>(createGraphSymbolicDimsPass());
}

/// Graph passes, then fusion groups (when fusion is on).
static void buildFusionPipeline(OpPassManager &pm,
                                const PipelineOptions &options) {
  buildGraphPipeline(pm);
  if (options.fusion) {
    if (options.attention)
      pm.addNestedPass<func::FuncOp>(createFusionAttentionPass());
    pm.addNestedPass<func::FuncOp>(createFusionFormGroupsPass());
  }
}

void buildKernelPipeline(OpPassManager &pm, const PipelineOptions &options) {
  buildFusionPipeline(pm, options);
  KernelOutlinePassOptions outlineOptions;
  outlineOptions.shapeOpsInHost = !options.shapeKernels;
  pm.addPass(createKernelOutlinePass(outlineOptions));
}

/// The upstream pass `pass` with its textual options (fixed strings: a
/// parse failure is a bug in bathy, reported loudly). For the passes whose
/// options MLIR offers no C++ constructor for.
static std::unique_ptr<Pass> withOptions(std::unique_ptr<Pass> pass,
                                         StringRef options) {
  if (failed(pass->initializeOptions(options, [](const Twine &message) {
        llvm::errs() << message << "\n";
        return failure();
      })))
    llvm::report_fatal_error("bathy: malformed built-in pass options");
  return pass;
}

/// Bounds checks (PipelineOptions::boundsChecks): upstream runtime
/// verification with terse messages.
static std::unique_ptr<Pass> createRuntimeVerification() {
  return withOptions(createGenerateRuntimeVerificationPass(),
                     "verbose-level=0");
}

void buildCpuJitPipeline(OpPassManager &pm, Phase phase,
                         const PipelineOptions &options) {
  if (phase == Phase::Graph)
    return buildGraphPipeline(pm);
  if (phase == Phase::Fusion)
    return buildFusionPipeline(pm, options);
  buildKernelPipeline(pm, options);
  if (phase == Phase::Kernels)
    return;
  buildCpuCodegenPipeline(pm, phase, options, /*lowerHost=*/true);
}

void buildCpuCodegenPipeline(OpPassManager &pm, Phase phase,
                             const PipelineOptions &options, bool lowerHost) {
  // Windowed ops and attention in the forms the linalg lowering takes.
  pm.addPass(createKernelConvPoolTo2DPass());
  pm.addPass(createCpuAttentionToRuntimePass());
  LinalgFromBathyPassOptions lowerOptions;
  lowerOptions.lowerHost = lowerHost;
  pm.addPass(createLinalgFromBathyPass(lowerOptions));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Ops of one fusion group become one loop nest where linalg can fuse them.
  pm.addPass(createCpuFuseElementwisePass());
  pm.addPass(createCanonicalizerPass());
  if (phase == Phase::Linalg)
    return;
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  // GEMM-class ops go to the runtime's packed, multithreaded kernels.
  pm.addPass(createCpuMicrokernelsPass());
  pm.addPass(createCpuExpandStridedCopiesPass());
  // Without a host, kernels are entered from the execution plan, whose
  // memory planner places static-size results in one arena.
  if (!lowerHost)
    pm.addPass(createCpuKernelDestinationsPass());
  // Free intermediate buffers; a function's results become its caller's
  // (the executor frees kernel results after their last reader, a copy is
  // made of a result the function does not own); clones become alloc + copy.
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Sizes that come from run-time values are checked before allocating.
  pm.addPass(createCpuCheckAllocationsPass());
  // Views and linalg operands checked against their buffers (the loads and
  // stores are checked once linalg is loops).
  if (options.boundsChecks)
    pm.addPass(createRuntimeVerification());
  // Large generated loop nests run across the runtime's threads.
  if (options.parallelLoops)
    pm.addPass(createCpuParallelizePass());
  if (phase == Phase::Bufferized)
    return;
  buildCpuToLLVMPipeline(pm, options);
}

void buildCpuToLLVMPipeline(OpPassManager &pm, const PipelineOptions &options) {
  // Polynomials instead of libm calls, so loops around them vectorize.
  pm.addPass(createCpuApproximateMathPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  if (options.boundsChecks)
    pm.addPass(createRuntimeVerification());
  // Failed checks call the runtime, which ends the run.
  pm.addPass(createCpuLowerChecksPass());
  // Views become reinterpret casts with affine index arithmetic, which then
  // lowers with the rest of affine (once), before structured control flow.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // No integer division may trap (SIGFPE) on run-time values.
  pm.addPass(createCpuSafeIntegerDivisionPass());
  // Generic allocation functions, which bathy-cpu-runtime-allocator turns
  // into the runtime's tracked allocator.
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCpuRuntimeAllocatorPass());
  pm.addPass(createCpuParallelLaunchToLLVMPass());
}

namespace {
struct CpuJitPipelineOptions
    : public PassPipelineOptions<CpuJitPipelineOptions> {
  Option<bool> fusion{*this, "fusion", llvm::cl::desc("Form fusion groups"),
                      llvm::cl::init(true)};
  Option<bool> checkBounds{
      *this, "check-bounds",
      llvm::cl::desc("Bounds-checked kernels (runtime verification)"),
      llvm::cl::init(false)};
};
} // namespace

void registerPipelines() {
  PassPipelineRegistration<>("bathy-graph-pipeline",
                             "Shape inference and canonicalization",
                             buildGraphPipeline);
  PassPipelineRegistration<>(
      "bathy-kernel-pipeline",
      "Graph pipeline, fusion groups, then one kernel per group",
      [](OpPassManager &pm) { buildKernelPipeline(pm); });
  PassPipelineRegistration<CpuJitPipelineOptions>(
      "bathy-cpu-jit-pipeline",
      "Whole-module CPU code generation down to the LLVM dialect",
      [](OpPassManager &pm, const CpuJitPipelineOptions &cl) {
        PipelineOptions options;
        options.fusion = cl.fusion;
        options.boundsChecks = cl.checkBounds;
        buildCpuJitPipeline(pm, Phase::LLVM, options);
      });
}

void registerCodegenDialects(DialectRegistry &registry) {
  registry
      .insert<affine::AffineDialect, arith::ArithDialect,
              bufferization::BufferizationDialect, cf::ControlFlowDialect,
              func::FuncDialect, index::IndexDialect, LLVM::LLVMDialect,
              linalg::LinalgDialect, math::MathDialect, memref::MemRefDialect,
              scf::SCFDialect, tensor::TensorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  // memref.alloc as an allocation: lets bathy-cpu-kernel-destinations write a
  // result into its destination instead of allocating and copying.
  memref::registerAllocationOpInterfaceExternalModels(registry);
  // Runtime verification (PipelineOptions::boundsChecks).
  memref::registerRuntimeVerifiableOpInterfaceExternalModels(registry);
  linalg::registerRuntimeVerifiableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

} // namespace bathy
