//===- JitModel.cpp - Compile a bathy module in process and run it --------===//
#include "bathy/Codegen/CPU/JitModel.h"

using namespace mlir;

namespace bathy {

JitModel::~JitModel() = default;

FailureOr<std::unique_ptr<JitModel>> JitModel::compile(ModuleOp module,
                                                       const JitOptions &opts) {
  FailureOr<CpuCompiledModel> compiled = compileForCpu(module, opts);
  if (failed(compiled))
    return failure();
  absl::StatusOr<std::unique_ptr<rt::CpuModel>> loaded =
      rt::CpuModel::Create(std::move(compiled->plan), compiled->sharedObject,
                           "the compiled kernels");
  if (!loaded.ok())
    return module.emitError(std::string(loaded.status().message()));
  std::unique_ptr<JitModel> model(new JitModel());
  model->model_ = std::move(*loaded);
  return model;
}

} // namespace bathy
