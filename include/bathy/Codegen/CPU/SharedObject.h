//===- SharedObject.h - A model's CPU kernels as one shared object --------===//
//
// The part of CPU compilation that the JIT and ahead-of-time compilation
// (bathyc) share: the model's host function becomes an execution plan, its
// kernels go through the CPU pipeline to LLVM IR, then to object code for a
// named CPU (LLVM's TargetMachine, in process, one module per chunk of
// kernels, in parallel), linked by ld.lld into one position-independent
// shared object. The object calls the runtime through an import table
// (runtime/cpu/entry_points.h) and exports each kernel's packed entry
// point. The JIT loads it from memory (runtime/cpu/code.h); bathyc writes
// it into the artifact. Same options, same bytes.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_CPU_SHAREDOBJECT_H
#define BATHY_CODEGEN_CPU_SHAREDOBJECT_H

#include <functional>
#include <string>
#include <vector>

#include "bathy/Codegen/CPU/Pipelines.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "runtime/plan.h"

namespace bathy {

struct CpuCompileOptions {
  /// LLVM optimization level for the generated code (0-3).
  unsigned optLevel = 3;
  /// The CPU the code is for: "host" (this machine's CPU and features), or
  /// an LLVM CPU name ("x86-64-v3": AVX2/FMA, the portable baseline;
  /// "x86-64-v4": AVX-512; "znver3", ...). Microkernels in the runtime
  /// choose their instruction set at run time either way.
  std::string cpu = "host";
  /// Choices along the compilation pipeline (fusion on by default).
  PipelineOptions pipeline;
  /// Empty the context's resource blobs of the weights the plan copied, so
  /// a model's weights are held once. Only for callers that will not use
  /// those blobs again.
  bool releaseWeightBlobs = false;
  /// Called as each phase starts ("lowering 29 kernels"), for progress.
  std::function<void(llvm::StringRef)> progress;
};

/// A model compiled for the CPU.
struct CpuCompiledModel {
  rt::Plan plan;
  /// The kernels, as an ELF shared object.
  std::string sharedObject;
  /// The CPU the code was compiled for (resolved: "host" becomes the host's
  /// name) and the features it needs (rt::kCheckedCpuFeatures it enables).
  std::string cpu;
  std::vector<std::string> cpuFeatures;
};

/// Compiles `module` (bathy IR with a public @main). Consumes the module.
/// Errors are emitted as diagnostics on its context.
mlir::FailureOr<CpuCompiledModel>
compileForCpu(mlir::ModuleOp module, const CpuCompileOptions &options);

/// Every tensor with a static shape must fit the memory limit: an op whose
/// result would need more (ConstantOfShape [2^40], an Expand or Pad that
/// large) is an error naming its node and the size, before anything is
/// allocated or a size computation wraps.
mlir::LogicalResult checkStaticSizes(mlir::ModuleOp module);

/// What every target does first: graph passes, fusion and outlining with
/// shape kernels (identical kernels once), the static sizes checked, @main
/// turned into the execution plan and erased, kernels made public with
/// read-only arguments. Errors are diagnostics.
mlir::FailureOr<rt::Plan> outlineKernelsAndPlan(mlir::ModuleOp module,
                                                const PipelineOptions &options,
                                                bool releaseWeightBlobs);

/// What `cpu` ("host" or an LLVM CPU name) compiles for, for cache keys:
/// the name and, for "host", this machine's CPU name and features.
std::string targetCpuIdentity(llvm::StringRef cpu);

/// The ld.lld the compiler links with: $BATHY_LLD, else ld.lld-22 or
/// ld.lld on PATH, else LLVM's own. Empty when none is found.
std::string findLinker();

} // namespace bathy

#endif // BATHY_CODEGEN_CPU_SHAREDOBJECT_H
