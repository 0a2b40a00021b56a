//===- model.cc - A compiled model, ready to run on the CPU ---------------===//
#include "runtime/cpu/model.h"

#include "absl/strings/str_cat.h"
#include "runtime/cpu/cpu_features.h"

namespace bathy::rt {

CpuModel::~CpuModel() = default;

absl::StatusOr<std::unique_ptr<CpuModel>>
CpuModel::Create(Plan plan, absl::string_view code, const std::string &name,
                 std::shared_ptr<const Artifact> keep) {
  std::unique_ptr<CpuModel> model(new CpuModel());
  model->artifact_ = std::move(keep);
  absl::StatusOr<std::unique_ptr<LoadedCode>> loaded =
      LoadedCode::Load(code, name);
  if (!loaded.ok())
    return loaded.status();
  absl::StatusOr<std::vector<KernelEntry>> entries =
      (*loaded)->Entries(plan.kernels);
  if (!entries.ok())
    return entries.status();
  model->code_ = std::move(*loaded);
  model->code_bytes_ = code.size();
  absl::StatusOr<std::unique_ptr<CpuExecutor>> executor =
      CpuExecutor::Create(std::move(plan), std::move(*entries));
  if (!executor.ok())
    return absl::Status(executor.status().code(),
                        absl::StrCat(name, ": ", executor.status().message()));
  model->executor_ = std::move(*executor);
  return model;
}

absl::StatusOr<std::unique_ptr<CpuModel>>
CpuModel::FromArtifact(std::shared_ptr<const Artifact> artifact,
                       const std::string &name, size_t plan) {
  const Manifest &m = artifact->manifest();
  if (m.target != "cpu")
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": the code is for the target '", m.target,
                     "'; this runtime runs CPU code"));
  if (absl::Status s = CheckCpuFeatures(m.cpu_features); !s.ok())
    return absl::FailedPreconditionError(
        absl::StrCat(name, " (compiled for ", m.cpu, "): ", s.message()));
  if (plan >= artifact->num_plans())
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": has ", artifact->num_plans(), " plans, not a plan ", plan));
  absl::StatusOr<std::unique_ptr<CpuModel>> model =
      Create(artifact->plan(plan), artifact->code(plan), name);
  if (!model.ok())
    return model.status();
  (*model)->artifact_ = std::move(artifact);
  return model;
}

absl::StatusOr<std::unique_ptr<CpuModel>>
CpuModel::Open(const std::string &path, const std::string &trusted_key_pem) {
  absl::StatusOr<std::unique_ptr<Artifact>> artifact =
      Artifact::Open(path, trusted_key_pem);
  if (!artifact.ok())
    return artifact.status();
  return FromArtifact(std::move(*artifact), path);
}

absl::StatusOr<std::vector<HostTensor>>
CpuModel::Run(const std::vector<HostTensor> &inputs) const {
  std::vector<const HostTensor *> pointers;
  for (const HostTensor &t : inputs)
    pointers.push_back(&t);
  return executor_->Run(pointers);
}

} // namespace bathy::rt
