//===- run_context.cc - What a run's kernels reach: errors and memory -----===//
#include "runtime/cpu/run_context.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/memory.h"

namespace bathy::rt {

/// Precedes every buffer bathy_rt_alloc hands out; links the run's live
/// buffers. 32 bytes, so the buffer keeps malloc's 16-byte alignment.
struct AllocHeader {
  AllocHeader *prev, *next;
  RunContext *context;
  int64_t bytes;
};
static_assert(sizeof(AllocHeader) == 32, "the header keeps 16-byte alignment");

namespace {

/// Where a failing check jumps to: the innermost guarded call on this
/// thread.
struct Frame {
  std::jmp_buf env;
  RunContext *context;
  Frame *prev;
};
thread_local Frame *current_frame = nullptr;

/// Calls fn(arg) under a fresh frame; false if a check failed inside. Kept
/// out of line so that nothing of its caller lives across the setjmp.
__attribute__((noinline)) bool Guarded(RunContext *context, void (*fn)(void *),
                                       void *arg) {
  Frame frame;
  frame.context = context;
  frame.prev = current_frame;
  current_frame = &frame;
  if (setjmp(frame.env) != 0) {
    current_frame = frame.prev;
    return false;
  }
  fn(arg);
  current_frame = frame.prev;
  return true;
}

[[noreturn]] void AbortOutsideRun(const std::string &message) {
  std::fprintf(stderr, "bathy: kernel check failed outside a run: %s\n",
               message.c_str());
  std::abort();
}

/// Jumps to the innermost frame; its context holds the error already.
[[noreturn]] void Jump() {
  Frame *frame = current_frame;
  std::longjmp(frame->env, 1);
}

/// Records `message` in the current run, or aborts outside one. Returns
/// only inside a run; the caller then calls Jump() once every object it
/// built is destroyed.
void Record(const std::string &message,
            absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  Frame *frame = current_frame;
  if (!frame || !frame->context)
    AbortOutsideRun(message);
  frame->context->SetError(message, code);
}

std::string Format(const char *message, const int64_t (&values)[3]) {
  std::string out;
  for (const char *p = message; *p; ++p) {
    if (p[0] == '{' && p[1] >= '0' && p[1] <= '2' && p[2] == '}') {
      absl::StrAppend(&out, values[p[1] - '0']);
      p += 2;
      continue;
    }
    out.push_back(*p);
  }
  return out;
}

struct KernelCall {
  void (*entry)(void **);
  void **args;
};
void CallEntry(void *p) {
  auto *call = static_cast<KernelCall *>(p);
  call->entry(call->args);
}

} // namespace

RunContext::~RunContext() {
  for (AllocHeader *h = head_; h;) {
    AllocHeader *next = h->next;
    ReleaseMemory(h->bytes);
    std::free(h);
    h = next;
  }
}

absl::Status RunContext::CallKernel(void (*entry)(void **), void **args) {
  KernelCall call{entry, args};
  if (Guarded(this, &CallEntry, &call))
    return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  return absl::Status(code_, error_);
}

RunContext *RunContext::Current() {
  return current_frame ? current_frame->context : nullptr;
}

void RunContext::SetError(std::string message, absl::StatusCode code) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_)
    return;
  failed_ = true;
  error_ = std::move(message);
  code_ = code;
}

bool RunContext::failed() {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

std::string RunContext::error() {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

int64_t RunContext::live_buffers() {
  std::lock_guard<std::mutex> lock(mu_);
  return live_buffers_;
}

int64_t RunContext::live_bytes() {
  std::lock_guard<std::mutex> lock(mu_);
  return live_bytes_;
}

bool RunTask(RunContext *context, void (*fn)(void *), void *arg) {
  if (!context) {
    fn(arg);
    return true;
  }
  return Guarded(context, fn, arg);
}

void ResumeFailure() {
  Frame *frame = current_frame;
  if (!frame || !frame->context)
    AbortOutsideRun("a parallel task failed");
  Jump();
}

} // namespace bathy::rt

using namespace bathy::rt;

extern "C" void bathy_rt_fail(const char *message, int64_t v0, int64_t v1,
                              int64_t v2) {
  Record(Format(message ? message : "a kernel check failed", {v0, v1, v2}));
  Jump();
}

extern "C" void *bathy_rt_alloc(int64_t bytes) {
  RunContext *context = RunContext::Current();
  if (bytes < 0 ||
      bytes > INT64_MAX - static_cast<int64_t>(sizeof(AllocHeader))) {
    Record(absl::StrCat("a kernel asked for a buffer of ", bytes, " bytes"));
    Jump();
  }
  if (!ReserveMemory(bytes)) {
    Record(absl::StrCat("cannot allocate a buffer of ", FormatBytes(bytes),
                        ": the process would hold more than the memory "
                        "limit of ",
                        FormatBytes(MemoryLimit()), " (--max-memory; ",
                        FormatBytes(MemoryInUse()), " in use)"),
           absl::StatusCode::kResourceExhausted);
    Jump();
  }
  auto *h = static_cast<AllocHeader *>(
      std::malloc(sizeof(AllocHeader) + static_cast<size_t>(bytes)));
  if (!h) {
    ReleaseMemory(bytes);
    Record(absl::StrCat("out of memory allocating a buffer of ",
                        FormatBytes(bytes)),
           absl::StatusCode::kResourceExhausted);
    Jump();
  }
  h->prev = nullptr;
  h->next = nullptr;
  h->context = context;
  h->bytes = bytes;
  if (context) {
    std::lock_guard<std::mutex> lock(context->mu_);
    h->next = context->head_;
    if (h->next)
      h->next->prev = h;
    context->head_ = h;
    ++context->live_buffers_;
    context->live_bytes_ += bytes;
  }
  return h + 1;
}

extern "C" void bathy_rt_free(void *ptr) {
  if (!ptr)
    return;
  AllocHeader *h = static_cast<AllocHeader *>(ptr) - 1;
  if (RunContext *context = h->context) {
    std::lock_guard<std::mutex> lock(context->mu_);
    if (h->prev)
      h->prev->next = h->next;
    else
      context->head_ = h->next;
    if (h->next)
      h->next->prev = h->prev;
    --context->live_buffers_;
    context->live_bytes_ -= h->bytes;
  }
  ReleaseMemory(h->bytes);
  std::free(h);
}
