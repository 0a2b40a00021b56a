//===- Cuda.h - The CUDA target: pipeline, C++ emitter, NVRTC, emulation --===//
//
// The CUDA target reuses the target-neutral part of code generation (kernel
// outlining, the linalg lowering) and the buffer passes of the CPU target,
// lowers linalg to parallel loops and then, instead of LLVM, writes every
// kernel function as CUDA C++:
//
//   - each top-level loop nest of a kernel becomes a __global__ function
//     (the outermost scf.parallel's iteration space spread over a grid of
//     threads; a nest without parallel loops runs on one thread);
//   - what is left of the kernel (sizes, checks, allocations, launches) is
//     a host function with the CPU kernels' packed entry point, so the
//     runtime's execution plan launches it unchanged.
//
// The same source is compiled two ways: by NVRTC for a GPU (the host part
// is `#ifndef __CUDACC_RTC__`), and for the CPU by the host C++ compiler
// against an emulation header (blocks one after another, the threads of a
// block one after another: the kernels use no __shared__ memory or
// barriers yet), which is how `--device=cuda-emu` runs the CUDA kernels on
// a machine without a GPU.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_CUDA_CUDA_H
#define BATHY_CODEGEN_CUDA_CUDA_H

#include <functional>
#include <string>
#include <vector>

#include "bathy/Codegen/CPU/Pipelines.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"
#include "runtime/plan.h"

namespace bathy {

/// Kernel functions (outlined, on tensors) down to buffers and loops in the
/// dialects the CUDA emitter writes: scf, arith, math, memref, func,
/// bathy.check.
void buildCudaCodegenPipeline(mlir::OpPassManager &pm,
                              const PipelineOptions &options = {});

/// The pipeline options the CUDA target compiles with.
PipelineOptions cudaPipelineOptions(PipelineOptions options = {});

/// Writes every kernel function of `module` (after buildCudaCodegenPipeline)
/// as CUDA C++ to `os`. Errors are diagnostics at the op the emitter cannot
/// write.
mlir::LogicalResult translateToCuda(mlir::ModuleOp module,
                                    llvm::raw_ostream &os);

/// The name the emitted source includes ("bathy_cuda.h") and its text: the
/// memref descriptor, the device helpers, and (outside NVRTC) the
/// emulation of CUDA's launch model and the runtime entry points.
extern const char kCudaPreludeName[];
llvm::StringRef cudaPrelude();

/// A model compiled for the CUDA target: the execution plan and one CUDA
/// C++ translation unit holding all its kernels.
struct CudaCompiledModel {
  rt::Plan plan;
  std::string source;
  /// Kernel function → the __global__ functions it launches.
  std::vector<std::pair<std::string, std::vector<std::string>>> kernels;
};

struct CudaCompileOptions {
  PipelineOptions pipeline;
  bool releaseWeightBlobs = false;
  std::function<void(llvm::StringRef)> progress;
};

/// Compiles `module` (bathy IR with a public @main) to the plan and CUDA
/// source. Consumes the module.
mlir::FailureOr<CudaCompiledModel>
compileForCuda(mlir::ModuleOp module, const CudaCompileOptions &options);

/// Compiles `source` for this CPU against the emulation header with the
/// host C++ compiler ($BATHY_CXX, else c++): a shared object whose packed
/// entry points the CPU executor runs. An error (the compiler's own
/// messages) names `what`.
llvm::Expected<std::string> buildCudaEmulation(llvm::StringRef source,
                                               llvm::StringRef what);

/// NVRTC, loaded with dlopen (libnvrtc.so.13 from $BATHY_NVRTC, the CUDA
/// toolkit at $CUDA_HOME or /usr/local/cuda, or the loader's path).
struct NvrtcResult {
  std::string arch;     // "sm_80"; "compute_90" for PTX
  std::string binary;   // CUBIN, or PTX text
  std::string ptx;      // for an sm_ target: the PTX the CUBIN came from
  std::string log;      // NVRTC's log (ptxas -v: registers, spills)
};
/// Compiles `source` for each architecture in `archs` ("sm_80" gives a
/// CUBIN, "compute_90" PTX). An error carries NVRTC's log.
llvm::Expected<std::vector<NvrtcResult>>
compileWithNvrtc(llvm::StringRef source, llvm::ArrayRef<std::string> archs,
                 llvm::StringRef name);
/// NVRTC's version ("13.0"), or an error saying why it cannot be loaded.
llvm::Expected<std::string> nvrtcVersion();

/// Per __global__ function, what ptxas said of it (from the -v log).
struct KernelResources {
  std::string kernel;
  int registers = 0;
  int spillStores = 0, spillLoads = 0;
  int stackFrame = 0;
};
std::vector<KernelResources> parsePtxasLog(llvm::StringRef log);

/// A model's CUDA source compiled by NVRTC for each architecture.
struct CudaBinaries {
  std::vector<NvrtcResult> binaries;
  /// Per architecture with a CUBIN, what ptxas said of each kernel.
  std::vector<std::pair<std::string, std::vector<KernelResources>>> resources;
};
/// Compiles `model.source` for `archs` in parallel (one NVRTC program per
/// architecture). An NVRTC error names the kernel each message is in and
/// the ONNX nodes that kernel computes (from `model.plan`).
llvm::Expected<CudaBinaries> compileCudaBinaries(const CudaCompiledModel &model,
                                                 llvm::ArrayRef<std::string> archs,
                                                 llvm::StringRef name);

} // namespace bathy

#endif // BATHY_CODEGEN_CUDA_CUDA_H
