//===- CudaPipeline.cpp - Kernel functions down to loops for CUDA C++ -----===//
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Codegen/CUDA/Cuda.h"
#include "bathy/Codegen/ToLinalg/Passes.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace bathy {

PipelineOptions cudaPipelineOptions(PipelineOptions options) {
  options.parallelLoops = false;
  options.boundsChecks = false;
  options.shapeKernels = true;
  return options;
}

void buildCudaCodegenPipeline(OpPassManager &pm,
                              const PipelineOptions &options) {
  (void)options;
  pm.addPass(createKernelConvPoolTo2DPass());
  // bathy.attention as the call the CPU target makes (shape checks
  // included); the CUDA emitter launches its own kernel for the call.
  pm.addPass(createCpuAttentionToRuntimePass());
  LinalgFromBathyPassOptions lowerOptions;
  lowerOptions.lowerHost = false;
  pm.addPass(createLinalgFromBathyPass(lowerOptions));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // One loop nest per fusion group where linalg can fuse it (the same
  // control as the CPU's: producers fuse into consumers, never into a
  // contraction's reduction).
  pm.addPass(createCpuFuseElementwisePass());
  pm.addPass(createCanonicalizerPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  // Matmuls and convolutions (operand transposes and padding folded into
  // strides and offsets) as the calls the CPU target makes; the CUDA
  // emitter launches the prelude's kernels for them.
  pm.addPass(createCpuMicrokernelsPass());
  pm.addPass(createCpuExpandStridedCopiesPass());
  pm.addPass(createCpuKernelDestinationsPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCpuCheckAllocationsPass());
  // Parallel dims become scf.parallel (a grid), reductions scf.for.
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  // Views become base + offset + sizes + strides, the form the emitter's
  // memref descriptor holds.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(arith::createArithExpandOpsPass());
  // No integer division by 0 or INT_MIN / -1 (a trap on the host).
  pm.addPass(createCpuSafeIntegerDivisionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

} // namespace bathy
