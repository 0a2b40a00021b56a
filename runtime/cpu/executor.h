//===- executor.h - Runs an execution plan on the CPU ---------------------===//
//
// The CPU device's executor: binds each kernel of a plan to a function
// pointer (the compiler's JIT hands them over; nothing here knows LLVM), then
// runs the plan's launches in order. Kernels take MLIR memref descriptors
// and either write their results into the run's arena (where the plan's
// memory planner put them) or return buffers they allocated, which the
// executor frees after the value's last reader. Kernels split their loops
// across the runtime's thread pool themselves.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_EXECUTOR_H
#define BATHY_RUNTIME_CPU_EXECUTOR_H

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/plan.h"
#include "runtime/tensor.h"

namespace bathy::rt {

/// A kernel's packed entry point; each args[i] points to a pointer to one
/// memref descriptor ({allocated, aligned, offset, sizes[r], strides[r]} in
/// 64-bit words for rank r). A kernel that returns its results: args[0] for
/// the result descriptors (one after another, in result order), then one
/// per argument; it returns buffers it allocated with malloc (aligned
/// pointer inside allocated), which its caller frees. A kernel with
/// destinations (Plan::Step::destinations): one per argument, then one per
/// result buffer to write. Kernels own none of their arguments.
using KernelEntry = void (*)(void **args);

class CpuExecutor {
public:
  /// Validates the plan and binds kernel i to entries[i]; registers large
  /// constants as immutable (GEMM operands read from them are packed once).
  static absl::StatusOr<std::unique_ptr<CpuExecutor>>
  Create(Plan plan, std::vector<KernelEntry> entries);
  ~CpuExecutor();

  const Plan &plan() const { return plan_; }

  /// Runs the plan on `inputs` (checked against the plan's input specs) and
  /// returns the outputs as dense host tensors. May run concurrently.
  absl::StatusOr<std::vector<HostTensor>>
  Run(const std::vector<const HostTensor *> &inputs) const;

private:
  CpuExecutor(Plan plan, std::vector<KernelEntry> entries);
  Plan plan_;
  std::vector<KernelEntry> entries_;
  /// Where each value's memref descriptor starts in a run's descriptor
  /// words, and how many words they take in all.
  std::vector<size_t> descriptor_at_;
  size_t descriptor_words_ = 0;
  /// Start of each constant registered with the GEMM cache.
  std::vector<const void *> registered_;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_EXECUTOR_H
