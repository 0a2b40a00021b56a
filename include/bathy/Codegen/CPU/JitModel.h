//===- JitModel.h - Compile a bathy module in process and run it ----------===//
//
// The CPU JIT: compileForCpu (SharedObject.h) turns the model into an
// execution plan (rt::Plan: constants, kernel launches, outputs) and its
// kernels into one shared object, exactly as bathyc does for an artifact;
// the JIT loads that object from memory as an rt::CpuModel, which is what
// an artifact becomes too. run() checks the inputs against the model's
// contract and returns the outputs as host tensors. Dynamic dims are
// run-time sizes: one compilation serves every shape the model accepts.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_JITMODEL_H
#define BATHY_CODEGEN_JITMODEL_H

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bathy/Codegen/CPU/SharedObject.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "runtime/cpu/model.h"
#include "runtime/tensor.h"

namespace bathy {

using TensorSpec = rt::TensorSpec;

/// The JIT compiles for this machine's CPU unless told otherwise.
using JitOptions = CpuCompileOptions;

class JitModel {
public:
  ~JitModel();

  /// Compiles `module` (bathy IR with a public @main). Consumes the module.
  /// Errors are emitted as diagnostics on its context.
  static mlir::FailureOr<std::unique_ptr<JitModel>>
  compile(mlir::ModuleOp module, const JitOptions &options = {});

  const std::vector<TensorSpec> &inputs() const { return model_->inputs(); }
  const std::vector<TensorSpec> &outputs() const { return model_->outputs(); }
  /// The execution plan the model runs as.
  const rt::Plan &plan() const { return model_->plan(); }
  /// The loaded model (what an artifact of the same compile would load as).
  const rt::CpuModel &model() const { return *model_; }

  /// Runs the model. Inputs must match the contract: count, element type,
  /// rank, static dims, and equal sizes for dims sharing a dim_param.
  absl::StatusOr<std::vector<rt::HostTensor>>
  run(const std::vector<rt::HostTensor> &inputs) const {
    return model_->Run(inputs);
  }

private:
  JitModel() = default;
  std::unique_ptr<rt::CpuModel> model_;
};

} // namespace bathy

#endif // BATHY_CODEGEN_JITMODEL_H
