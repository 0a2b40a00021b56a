//===- model.cc - A compiled model, ready to run on the CPU ---------------===//
#include "runtime/cpu/model.h"

#include "absl/strings/str_cat.h"
#include "runtime/cpu/cpu_features.h"

namespace bathy::rt {

CpuModel::~CpuModel() = default;

absl::StatusOr<std::unique_ptr<CpuModel>>
CpuModel::Create(Plan plan, absl::string_view code, const std::string &name) {
  std::unique_ptr<CpuModel> model(new CpuModel());
  absl::StatusOr<std::unique_ptr<LoadedCode>> loaded =
      LoadedCode::Load(code, name);
  if (!loaded.ok())
    return loaded.status();
  absl::StatusOr<std::vector<KernelEntry>> entries =
      (*loaded)->Entries(plan.kernels);
  if (!entries.ok())
    return entries.status();
  model->code_ = std::move(*loaded);
  absl::StatusOr<std::unique_ptr<CpuExecutor>> executor =
      CpuExecutor::Create(std::move(plan), std::move(*entries));
  if (!executor.ok())
    return absl::Status(executor.status().code(),
                        absl::StrCat(name, ": ", executor.status().message()));
  model->executor_ = std::move(*executor);
  return model;
}

absl::StatusOr<std::unique_ptr<CpuModel>>
CpuModel::FromArtifact(std::unique_ptr<Artifact> artifact,
                       const std::string &name) {
  const Manifest &m = artifact->manifest();
  if (m.target != "cpu")
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": the code is for the target '", m.target,
                     "'; this runtime runs CPU code"));
  if (absl::Status s = CheckCpuFeatures(m.cpu_features); !s.ok())
    return absl::FailedPreconditionError(
        absl::StrCat(name, " (compiled for ", m.cpu, "): ", s.message()));
  absl::StatusOr<std::unique_ptr<CpuModel>> model =
      Create(artifact->plan(0), artifact->code(), name);
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
