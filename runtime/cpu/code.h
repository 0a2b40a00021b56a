//===- code.h - A compiled model's code, loaded from memory ---------------===//
//
// The CPU code of a compiled model is one position-independent shared
// object (bathyc writes it into the artifact; the JIT makes one in memory).
// It is loaded without touching the disk: its bytes go into an anonymous
// memory file (memfd_create) that dlopen opens through /proc/self/fd. The
// runtime functions it calls are not resolved by the dynamic linker: the
// object defines an import pointer per function (entry_points.h), which
// Load fills with the runtime's own, so the code runs against this runtime
// only and needs no symbols exported from the executable.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_CODE_H
#define BATHY_RUNTIME_CPU_CODE_H

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cpu/executor.h"
#include "runtime/file.h"

namespace bathy::rt {

class LoadedCode {
public:
  /// Loads the shared object in `bytes`; `name` is for messages.
  static absl::StatusOr<std::unique_ptr<LoadedCode>>
  Load(absl::string_view bytes, const std::string &name);
  ~LoadedCode();

  /// The packed entry point of each of `kernels`, in order; an error names
  /// a kernel the code does not define.
  absl::StatusOr<std::vector<KernelEntry>>
  Entries(const std::vector<std::string> &kernels) const;

private:
  LoadedCode() = default;
  /// The memory file the code was written to (closed after dlclose).
  File file_;
  void *handle_ = nullptr;
  std::string name_;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_CODE_H
