//===- JitModel.h - Compile a bathy module in process and run it ----------===//
//
// The whole-module CPU JIT: the module (host function and kernels) goes
// through the CPU pipeline to LLVM and MLIR's ExecutionEngine; run() checks
// the inputs against the model's contract and returns the outputs as host
// tensors. Dynamic dims are run-time sizes: one compilation serves every
// shape the model accepts.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_JITMODEL_H
#define BATHY_CODEGEN_JITMODEL_H

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bathy/Codegen/Pipelines.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "runtime/tensor.h"

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace bathy {

/// One graph input or output: name, element type and shape (-1 for a
/// dynamic dim, with its ONNX dim_param name when it has one).
struct TensorSpec {
  std::string name;
  rt::DType dtype = rt::DType::kF32;
  std::vector<int64_t> shape;
  std::vector<std::string> dimParams;
};

struct JitOptions {
  /// LLVM optimization level for the generated code (0-3).
  unsigned optLevel = 3;
  /// Choices along the compilation pipeline (fusion on by default).
  PipelineOptions pipeline;
  /// Empty the context's resource blobs of the weights JitModel copied, so a
  /// model's weights are held once. Only for callers that will not use those
  /// blobs again (other modules in the same context would see them empty).
  bool releaseWeightBlobs = false;
};

class JitModel {
public:
  ~JitModel();

  /// Compiles `module` (bathy IR with a public @main). Consumes the module.
  /// Errors are emitted as diagnostics on its context.
  static mlir::FailureOr<std::unique_ptr<JitModel>>
  compile(mlir::ModuleOp module, const JitOptions &options = {});

  const std::vector<TensorSpec> &inputs() const { return inputs_; }
  const std::vector<TensorSpec> &outputs() const { return outputs_; }

  /// Runs the model. Inputs must match the contract: count, element type,
  /// rank, static dims, and equal sizes for dims sharing a dim_param.
  absl::StatusOr<std::vector<rt::HostTensor>>
  run(const std::vector<rt::HostTensor> &inputs) const;

private:
  JitModel() = default;
  void externalizeWeights(mlir::ModuleOp module, bool releaseBlobs);
  std::vector<TensorSpec> inputs_, outputs_;
  std::unique_ptr<mlir::ExecutionEngine> engine_;
  /// Large constants (weights), kept out of the LLVM module: each is an
  /// external global the JIT resolves to its bytes here.
  struct Weight {
    std::string symbol;
    std::unique_ptr<char, void (*)(void *)> data{nullptr, nullptr};
  };
  std::vector<Weight> weights_;
};

/// Checks `inputs` against `specs`; the error names the input and dim.
absl::Status checkInputs(const std::vector<TensorSpec> &specs,
                         const std::vector<rt::HostTensor> &inputs);

} // namespace bathy

#endif // BATHY_CODEGEN_JITMODEL_H
