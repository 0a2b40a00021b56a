//===- JitModel.h - Compile a bathy module in process and run it ----------===//
//
// The CPU JIT: the model's host function becomes an execution plan
// (rt::Plan: constants, kernel launches, outputs) that the runtime's CPU
// executor runs; only the kernels go through the CPU pipeline to LLVM and
// MLIR's ExecutionEngine, which hands the executor their entry points.
// run() checks the inputs against the model's contract and returns the
// outputs as host tensors. Dynamic dims are run-time sizes: one compilation
// serves every shape the model accepts.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_JITMODEL_H
#define BATHY_CODEGEN_JITMODEL_H

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bathy/Codegen/CPU/Pipelines.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "runtime/cpu/executor.h"
#include "runtime/tensor.h"

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace bathy {

using TensorSpec = rt::TensorSpec;

struct JitOptions {
  /// LLVM optimization level for the generated code (0-3).
  unsigned optLevel = 3;
  /// Choices along the compilation pipeline (fusion on by default).
  PipelineOptions pipeline;
  /// Empty the context's resource blobs of the weights JitModel copied, so a
  /// model's weights are held once. Only for callers that will not use those
  /// blobs again (other modules in the same context would see them empty).
  bool releaseWeightBlobs = false;
  /// Called as each phase of the compile starts ("lowering 29 kernels"),
  /// for progress reports.
  std::function<void(llvm::StringRef)> progress;
};

class JitModel {
public:
  ~JitModel();

  /// Compiles `module` (bathy IR with a public @main). Consumes the module.
  /// Errors are emitted as diagnostics on its context.
  static mlir::FailureOr<std::unique_ptr<JitModel>>
  compile(mlir::ModuleOp module, const JitOptions &options = {});

  const std::vector<TensorSpec> &inputs() const {
    return executor_->plan().input_specs;
  }
  const std::vector<TensorSpec> &outputs() const {
    return executor_->plan().output_specs;
  }
  /// The execution plan the model runs as.
  const rt::Plan &plan() const { return executor_->plan(); }

  /// Runs the model. Inputs must match the contract: count, element type,
  /// rank, static dims, and equal sizes for dims sharing a dim_param.
  absl::StatusOr<std::vector<rt::HostTensor>>
  run(const std::vector<rt::HostTensor> &inputs) const;

private:
  JitModel() = default;
  /// Declared before the executor: its kernels' code must outlive it. One
  /// per chunk of kernels compiled in parallel.
  std::vector<std::unique_ptr<mlir::ExecutionEngine>> engines_;
  std::unique_ptr<rt::CpuExecutor> executor_;
};

} // namespace bathy

#endif // BATHY_CODEGEN_JITMODEL_H
