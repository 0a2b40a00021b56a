//===- memory.cc - The process's budget for tensor memory -----------------===//
#include "runtime/memory.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace bathy::rt {
namespace {
std::atomic<int64_t> limit_bytes{0}; // 0: the default
std::atomic<int64_t> used_bytes{0};
} // namespace

int64_t PhysicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0)
    return std::numeric_limits<int64_t>::max() / 2;
  return static_cast<int64_t>(pages) * page;
}

int64_t MemoryLimit() {
  int64_t limit = limit_bytes.load(std::memory_order_relaxed);
  if (limit > 0)
    return limit;
  static const int64_t physical = PhysicalMemoryBytes();
  return physical;
}

void SetMemoryLimit(int64_t bytes) {
  limit_bytes.store(bytes > 0 ? bytes : 0, std::memory_order_relaxed);
}

absl::Status ParseByteSize(absl::string_view text, int64_t *bytes) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  size_t digits = 0;
  while (digits < s.size() &&
         std::isdigit(static_cast<unsigned char>(s[digits])))
    ++digits;
  uint64_t value = 0;
  std::string unit = absl::AsciiStrToLower(s.substr(digits));
  if (digits == 0 || !absl::SimpleAtoi(s.substr(0, digits), &value))
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a byte count such as 8G or 512MiB, got '", text, "'"));
  int shift = 0;
  if (unit.empty() || unit == "b")
    shift = 0;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    shift = 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    shift = 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    shift = 30;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    shift = 40;
  else
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown unit '", unit, "' in '", text, "' (B, K, M, G or T)"));
  if (value == 0 ||
      value >
          (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) >> shift))
    return absl::InvalidArgumentError(
        absl::StrCat("byte count '", text, "' is out of range"));
  *bytes = static_cast<int64_t>(value << shift);
  return absl::OkStatus();
}

std::string FormatBytes(int64_t bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

absl::Status CheckAllocationSize(int64_t bytes, absl::string_view what) {
  int64_t limit = MemoryLimit();
  if (bytes < 0 || bytes > limit)
    return absl::ResourceExhaustedError(absl::StrCat(
        what, " needs ", FormatBytes(bytes), ", more than the memory limit of ",
        FormatBytes(limit), " (--max-memory)"));
  return absl::OkStatus();
}

bool ReserveMemory(int64_t bytes) {
  if (bytes < 0)
    return false;
  int64_t limit = MemoryLimit();
  int64_t used = used_bytes.load(std::memory_order_relaxed);
  do {
    if (bytes > limit - used)
      return false;
  } while (!used_bytes.compare_exchange_weak(used, used + bytes,
                                             std::memory_order_relaxed));
  return true;
}

void ReleaseMemory(int64_t bytes) {
  used_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

int64_t MemoryInUse() { return used_bytes.load(std::memory_order_relaxed); }

} // namespace bathy::rt
