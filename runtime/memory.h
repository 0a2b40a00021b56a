//===- memory.h - The process's budget for tensor memory ------------------===//
//
// One limit on the bytes of tensor memory the runtime holds at a time: the
// buffers kernels allocate while a plan runs and the runs' arenas. Sizes come
// from models and requests, so every such allocation is checked against the
// budget first and refused with an error naming what wanted the memory,
// instead of failing inside malloc (or, with overcommit, later on a page
// fault). Single allocations beyond the limit (an input, a plan's constants)
// are refused the same way.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_MEMORY_H
#define BATHY_RUNTIME_MEMORY_H

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace bathy::rt {

/// The machine's physical memory in bytes (a large value when unknown).
int64_t PhysicalMemoryBytes();

/// The most tensor bytes the process may hold at once. Defaults to the
/// machine's physical memory.
int64_t MemoryLimit();
/// Sets the limit; `bytes` <= 0 restores the default.
void SetMemoryLimit(int64_t bytes);

/// Parses "1073741824", "512M", "8GiB", "2g" (binary units) into bytes.
absl::Status ParseByteSize(absl::string_view text, int64_t *bytes);
/// "4.0 GiB", "512 B".
std::string FormatBytes(int64_t bytes);

/// An error unless one allocation of `bytes` for `what` fits the limit.
absl::Status CheckAllocationSize(int64_t bytes, absl::string_view what);

/// Counts `bytes` against the limit (with what is already held); false, and
/// nothing counted, when they do not fit.
bool ReserveMemory(int64_t bytes);
void ReleaseMemory(int64_t bytes);
/// Bytes currently counted.
int64_t MemoryInUse();

} // namespace bathy::rt

#endif // BATHY_RUNTIME_MEMORY_H
