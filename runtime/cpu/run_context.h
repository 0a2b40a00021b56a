//===- run_context.h - What a run's kernels reach: errors and memory ------===//
//
// Generated kernels check what the compiler could not prove (sizes that must
// agree, indices that must be in range, allocations that must fit) and call
// bathy_rt_fail when a check does not hold. The run then stops: the failing
// kernel does not return but jumps back to the executor (setjmp/longjmp; the
// kernel's own frames hold nothing to clean up, every buffer it allocated is
// tracked here), which reports the message as the run's error. Kernels
// allocate their buffers with bathy_rt_alloc, counted against the process's
// memory limit and recorded in the run, so a failed run frees everything its
// kernels allocated.
//
// A RunContext is made current on a thread by CallKernel; the thread pool
// makes the caller's context current in every task of a parallel loop and
// runs each task in its own guard, so a check failing on a worker stops the
// loop's caller once all tasks are done.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_RUN_CONTEXT_H
#define BATHY_RUNTIME_CPU_RUN_CONTEXT_H

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/status.h"

extern "C" {
/// Stops the current run with `message`, in which "{0}", "{1}" and "{2}" are
/// replaced by v0, v1 and v2. Never returns. Outside a run (no RunContext
/// current on this thread) it prints the message and aborts.
[[noreturn]] void bathy_rt_fail(const char *message, int64_t v0, int64_t v1,
                                int64_t v2);
/// A buffer of `bytes` for a kernel, 16-byte aligned; stops the run when the
/// size is negative or does not fit the memory limit.
void *bathy_rt_alloc(int64_t bytes);
/// Frees a buffer from bathy_rt_alloc (null is ignored).
void bathy_rt_free(void *ptr);
}

namespace bathy::rt {

class RunContext {
public:
  RunContext() = default;
  /// Frees every buffer kernels allocated in this run and did not free.
  ~RunContext();
  RunContext(const RunContext &) = delete;
  RunContext &operator=(const RunContext &) = delete;

  /// Calls entry(args) with this context current on the calling thread.
  /// Returns the error a failing check reported, else OK.
  absl::Status CallKernel(void (*entry)(void **), void **args);

  /// The context current on this thread (null outside a run).
  static RunContext *Current();

  /// Records the run's error (the first one wins): InvalidArgument for a
  /// failed check, ResourceExhausted for memory the run could not get.
  void SetError(std::string message,
                absl::StatusCode code = absl::StatusCode::kInvalidArgument);
  bool failed();
  std::string error();

  /// Live buffers kernels allocated in this run, and their bytes.
  int64_t live_buffers();
  int64_t live_bytes();

private:
  friend struct AllocHeader;
  friend void * ::bathy_rt_alloc(int64_t);
  friend void ::bathy_rt_free(void *);
  std::mutex mu_;
  std::string error_;
  absl::StatusCode code_ = absl::StatusCode::kInvalidArgument;
  bool failed_ = false;
  struct AllocHeader *head_ = nullptr;
  int64_t live_buffers_ = 0, live_bytes_ = 0;
};

/// Runs fn(arg) as one task of a parallel loop started by a thread whose
/// current context is `context` (may be null): the context is current while
/// it runs, and a check failing inside ends the task (the error is recorded
/// in `context`) instead of unwinding the pool. Returns false if it failed.
bool RunTask(RunContext *context, void (*fn)(void *), void *arg);

/// Stops the current run with the error already recorded in its context
/// (after a task failed). Never returns.
[[noreturn]] void ResumeFailure();

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_RUN_CONTEXT_H
