//===- Pipelines.h - bathy's compilation pipelines ------------------------===//
//
// Pipelines as code, one options struct, a registration per stage, so each
// stage can be run (and lit-tested) on its own through bathy-opt.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_PIPELINES_H
#define BATHY_CODEGEN_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

namespace bathy {

/// Stages of compilation: a pipeline built for a phase stops after it
/// (`bathy-import --compile-to=<phase>` prints the IR there).
enum class Phase { Graph, Fusion, Kernels, Linalg, Bufferized, LLVM };

/// Choices along the pipelines.
struct PipelineOptions {
  /// Form fusion groups before outlining (else one kernel per op).
  bool fusion = true;
  /// Recognise attention chains as bathy.attention (a target without an
  /// attention kernel keeps them as matmuls and a softmax).
  bool attention = true;
  /// Split large generated loop nests across the runtime's thread pool.
  bool parallelLoops = true;
  /// Outline host shape arithmetic into kernels too, so the host function
  /// holds only constants and launches: the form an execution plan takes.
  bool shapeKernels = false;
  /// Bounds-checked kernels (a debugging mode): MLIR's runtime verification
  /// checks every memref access, view and linalg op's operand sizes, and a
  /// failure stops the run like any other check. Slow.
  bool boundsChecks = false;
};

/// Graph clean-up: shape inference and canonicalization.
void buildGraphPipeline(mlir::OpPassManager &pm);
/// Graph, fusion groups, then one kernel per group.
void buildKernelPipeline(mlir::OpPassManager &pm,
                         const PipelineOptions &options = {});
/// Everything up to `phase` for the whole module: kernels and host lowered
/// to linalg, bufferized, and converted to the LLVM dialect (launches become
/// calls). For inspecting generated code with bathy-opt; JitModel compiles
/// the kernels alone and runs the host as an execution plan.
void buildCpuJitPipeline(mlir::OpPassManager &pm, Phase phase = Phase::LLVM,
                         const PipelineOptions &options = {});
/// The code generation part of buildCpuJitPipeline, on outlined kernels:
/// lowering (host functions too when `lowerHost`), bufferization,
/// microkernels, parallel loops, and (for Phase::LLVM) the LLVM dialect.
void buildCpuCodegenPipeline(mlir::OpPassManager &pm, Phase phase,
                             const PipelineOptions &options, bool lowerHost);
/// The tail of buildCpuJitPipeline: bufferized linalg/memref to LLVM.
void buildCpuToLLVMPipeline(mlir::OpPassManager &pm,
                            const PipelineOptions &options = {});

/// Registers the pipelines (bathy-graph-pipeline, bathy-kernel-pipeline,
/// bathy-cpu-jit-pipeline) for use by name.
void registerPipelines();

/// Registers the upstream dialects, interfaces and LLVM IR translations the
/// CPU code generation uses.
void registerCodegenDialects(mlir::DialectRegistry &registry);

} // namespace bathy

#endif // BATHY_CODEGEN_PIPELINES_H
