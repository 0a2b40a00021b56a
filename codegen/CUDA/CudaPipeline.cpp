//===- CudaPipeline.cpp - Kernel functions down to loops for CUDA C++ -----===//
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Codegen/CUDA/Cuda.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
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
  // Up to buffers as the CPU target without a host (conv/pool to 2-D,
  // attention, matmuls and convolutions as calls the CUDA emitter maps to
  // the prelude's kernels, fusion, bufferization, destinations,
  // deallocation, allocation checks); no bounds checks or CPU threading.
  buildCpuCodegenPipeline(pm, Phase::Bufferized, cudaPipelineOptions(options),
                          /*lowerHost=*/false);
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
