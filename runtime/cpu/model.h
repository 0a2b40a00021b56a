//===- model.h - A compiled model, ready to run on the CPU ----------------===//
//
// What both the JIT and an artifact become: an execution plan, the shared
// object holding its kernels (loaded from memory, code.h) and the executor
// that runs the one with the other. Open() loads a .bathy artifact with the
// runtime alone: it verifies the file (artifact.h), checks that this
// machine has the CPU features the code was compiled for, loads the code
// and binds every kernel the plan launches. Weights stay in the file's
// read-only mapping.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_MODEL_H
#define BATHY_RUNTIME_CPU_MODEL_H

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact/artifact.h"
#include "runtime/cpu/code.h"
#include "runtime/cpu/executor.h"

namespace bathy::rt {

class CpuModel {
public:
  /// A model from a plan and the shared object of its kernels (the JIT's).
  /// `keep`: an artifact the plan's constants view, kept alive with it.
  static absl::StatusOr<std::unique_ptr<CpuModel>>
  Create(Plan plan, absl::string_view code, const std::string &name,
         std::shared_ptr<const Artifact> keep = nullptr);
  /// A model from a .bathy artifact at `path`; with `trusted_key_pem`, only
  /// one that key signed (Artifact::Open).
  static absl::StatusOr<std::unique_ptr<CpuModel>>
  Open(const std::string &path, const std::string &trusted_key_pem = "");
  /// Plan `plan` (0: the generic one; buckets have others) of an artifact
  /// already opened, which the model keeps alive (its weights stay in the
  /// mapping).
  static absl::StatusOr<std::unique_ptr<CpuModel>>
  FromArtifact(std::shared_ptr<const Artifact> artifact,
               const std::string &name, size_t plan = 0);
  ~CpuModel();

  const std::vector<TensorSpec> &inputs() const {
    return executor_->plan().input_specs;
  }
  const std::vector<TensorSpec> &outputs() const {
    return executor_->plan().output_specs;
  }
  const Plan &plan() const { return executor_->plan(); }
  /// Bytes of its kernels' code.
  size_t code_bytes() const { return code_bytes_; }
  /// The artifact it came from (null for the JIT's).
  const Artifact *artifact() const { return artifact_.get(); }

  /// Runs the model. Inputs must match the contract: count, element type,
  /// rank, static dims, and equal sizes for dims sharing a dim_param.
  absl::StatusOr<std::vector<HostTensor>>
  Run(const std::vector<HostTensor> &inputs) const;

private:
  CpuModel() = default;
  // Destroyed last to first: the executor, then the code it calls, then
  // the mapping its constants view.
  std::shared_ptr<const Artifact> artifact_;
  std::unique_ptr<LoadedCode> code_;
  std::unique_ptr<CpuExecutor> executor_;
  size_t code_bytes_ = 0;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_MODEL_H
