//===- Pipelines.cpp - bathy's compilation pipelines ----------------------===//
#include "bathy/Codegen/Pipelines.h"

#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/RuntimeOpVerification.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/RuntimeOpVerification.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/InitAllPasses.h"
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
  pm.addNestedPass<func::FuncOp>(createSimplifyGraphPass());
  // Symbolic sizes make more dims static (Reshape's -1 over dynamic dims)
  // and prove broadcasting operands equal; the second run annotates the ops
  // simplification left, so it comes last.
  pm.addNestedPass<func::FuncOp>(createSymbolicDimsPass());
  pm.addNestedPass<func::FuncOp>(createSimplifyGraphPass());
  pm.addNestedPass<func::FuncOp>(createSymbolicDimsPass());
}

void buildKernelPipeline(OpPassManager &pm, const PipelineOptions &options) {
  buildGraphPipeline(pm);
  if (options.fusion) {
    pm.addNestedPass<func::FuncOp>(createFuseAttentionPass());
    pm.addNestedPass<func::FuncOp>(createFormFusionGroupsPass());
  }
  OutlineKernelsPassOptions outlineOptions;
  outlineOptions.shapeOpsInHost = !options.shapeKernels;
  pm.addPass(createOutlineKernelsPass(outlineOptions));
}

/// Adds a textual upstream pipeline; the pieces are fixed strings, so a
/// parse failure is a bug in bathy, reported loudly.
static void addTextual(OpPassManager &pm, StringRef pipeline) {
  // The textual parser looks passes up by name: make sure they are known.
  static bool registered = [] {
    registerAllPasses();
    return true;
  }();
  (void)registered;
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("bathy: malformed built-in pipeline");
}

void buildCpuJitPipeline(OpPassManager &pm, Phase phase,
                         const PipelineOptions &options) {
  buildKernelPipeline(pm, options);
  if (phase == Phase::Kernels || phase == Phase::Graph)
    return;
  buildCpuCodegenPipeline(pm, phase, options, /*lowerHost=*/true);
}

void buildCpuCodegenPipeline(OpPassManager &pm, Phase phase,
                             const PipelineOptions &options, bool lowerHost) {
  LowerToLinalgPassOptions lowerOptions;
  lowerOptions.lowerHost = lowerHost;
  pm.addPass(createLowerToLinalgPass(lowerOptions));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Ops of one fusion group become one loop nest where linalg can fuse them.
  pm.addPass(createFuseLinalgElementwisePass());
  pm.addPass(createCanonicalizerPass());
  if (phase == Phase::Linalg)
    return;
  addTextual(pm, "one-shot-bufferize{bufferize-function-boundaries "
                 "function-boundary-type-conversion=identity-layout-map}");
  pm.addPass(createCanonicalizerPass());
  // GEMM-class ops go to the runtime's packed, multithreaded kernels.
  pm.addPass(createUseMicrokernelsPass());
  pm.addPass(createExpandStridedCopiesPass());
  // Without a host, kernels are entered from the execution plan, whose
  // memory planner places static-size results in one arena.
  if (!lowerHost)
    pm.addPass(createKernelDestinationsPass());
  // Free intermediate buffers; a function's results become its caller's
  // (the executor frees kernel results after their last reader, a copy is
  // made of a result the function does not own); clones become alloc + copy.
  addTextual(pm,
             "buffer-deallocation-pipeline,convert-bufferization-to-memref");
  // Sizes that come from run-time values are checked before allocating.
  pm.addPass(createCheckAllocationsPass());
  // Views and linalg operands checked against their buffers (the loads and
  // stores are checked once linalg is loops).
  if (options.boundsChecks)
    addTextual(pm, "generate-runtime-verification{verbose-level=0}");
  // Large generated loop nests run across the runtime's threads.
  if (options.parallelLoops)
    pm.addPass(createParallelizeLoopsPass());
  if (phase == Phase::Bufferized)
    return;
  buildCpuToLLVMPipeline(pm, options);
}

void buildCpuToLLVMPipeline(OpPassManager &pm, const PipelineOptions &options) {
  // Polynomials instead of libm calls, so loops around them vectorize.
  pm.addPass(createApproximateMathPass());
  addTextual(pm, "convert-linalg-to-loops");
  if (options.boundsChecks)
    addTextual(pm, "generate-runtime-verification{verbose-level=0}");
  // Failed checks call the runtime, which ends the run.
  pm.addPass(createLowerChecksPass());
  addTextual(pm, "lower-affine,convert-scf-to-cf,"
                 "expand-strided-metadata,lower-affine");
  // No integer division may trap (SIGFPE) on run-time values.
  pm.addPass(createSafeIntegerDivisionPass());
  addTextual(pm, "finalize-memref-to-llvm{use-generic-functions=true},"
                 "convert-math-to-funcs,convert-math-to-llvm,"
                 "convert-math-to-libm,convert-arith-to-llvm,"
                 "convert-index-to-llvm,convert-cf-to-llvm,"
                 "convert-func-to-llvm,reconcile-unrealized-casts");
  pm.addPass(createRuntimeAllocatorPass());
  pm.addPass(createParallelLaunchToLLVMPass());
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
