//===- code.cc - A compiled model's code, loaded from memory --------------===//
#include "runtime/cpu/code.h"

#include <dlfcn.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/cpu/cpu_features.h"
#include "runtime/cpu/entry_points.h"
#include "runtime/cpu/kernels.h"
#include "runtime/file.h"

namespace bathy::rt {

bool CpuHasFeature(const std::string &f) {
  // __builtin_cpu_supports takes literals only.
#define BATHY_FEATURE(name)                                                    \
  if (f == name)                                                               \
    return __builtin_cpu_supports(name) != 0;
  BATHY_FEATURE("sse4.1")
  BATHY_FEATURE("sse4.2")
  BATHY_FEATURE("popcnt")
  BATHY_FEATURE("avx")
  BATHY_FEATURE("avx2")
  BATHY_FEATURE("fma")
  BATHY_FEATURE("bmi")
  BATHY_FEATURE("bmi2")
  BATHY_FEATURE("avx512f")
  BATHY_FEATURE("avx512cd")
  BATHY_FEATURE("avx512bw")
  BATHY_FEATURE("avx512dq")
  BATHY_FEATURE("avx512vl")
  BATHY_FEATURE("avx512vnni")
#undef BATHY_FEATURE
  return false;
}

absl::Status CheckCpuFeatures(const std::vector<std::string> &features) {
  for (const std::string &f : features) {
    bool known = false;
    for (const char *k : kCheckedCpuFeatures)
      known |= f == k;
    if (!known)
      return absl::FailedPreconditionError(
          absl::StrCat("the code needs the CPU feature '", f,
                       "', which this runtime cannot check"));
    if (!CpuHasFeature(f))
      return absl::FailedPreconditionError(absl::StrCat(
          "the code needs the CPU feature '", f,
          "', which this machine lacks (compile with --cpu=x86-64-v3, or "
          "for this machine with --cpu=host)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LoadedCode>>
LoadedCode::Load(absl::string_view bytes, const std::string &name) {
  std::unique_ptr<LoadedCode> code(new LoadedCode());
  code->name_ = name;
  absl::StatusOr<File> file = MemoryFile(bytes, "bathy-code");
  if (!file.ok())
    return absl::Status(file.status().code(),
                        absl::StrCat(name, ": ", file.status().message()));
  code->file_ = std::move(*file);
  std::string path = absl::StrCat("/proc/self/fd/", code->file_.fd());
  // RTLD_LOCAL: nothing else in the process sees these symbols; RTLD_NOW:
  // an unresolvable symbol is an error here, not in the middle of a run.
  code->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!code->handle_) {
    const char *error = dlerror();
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": the code section cannot be loaded: ",
                     error ? error : "unknown dlopen error"));
  }
  // The import table: every runtime function the code calls, by name.
  struct Import {
    const char *name;
    void *address;
  };
  auto *table =
      static_cast<Import *>(dlsym(code->handle_, entry::kImportTable));
  auto *count =
      static_cast<const int64_t *>(dlsym(code->handle_, entry::kImportCount));
  if (!table || !count || *count < 0 || *count > 4096)
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": the code section has no import table (not bathy code?)"));
  int available = 0;
  const KernelSymbol *symbols = KernelSymbols(&available);
  for (int64_t i = 0; i < *count; ++i) {
    const char *wanted = table[i].name;
    void *address = nullptr;
    for (int k = 0; k < available && wanted; ++k)
      if (std::strcmp(wanted, symbols[k].name) == 0)
        address = symbols[k].address;
    if (!address)
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": the code calls the runtime function '",
          wanted ? wanted : "(null)",
          "', which this runtime does not have (compiled by another "
          "version?)"));
    table[i].address = address;
  }
  return code;
}

LoadedCode::~LoadedCode() {
  if (handle_)
    dlclose(handle_);
}

absl::StatusOr<std::vector<KernelEntry>>
LoadedCode::Entries(const std::vector<std::string> &kernels) const {
  std::vector<KernelEntry> out;
  for (const std::string &kernel : kernels) {
    std::string symbol = absl::StrCat(entry::kEntryPrefix, kernel);
    void *entry = dlsym(handle_, symbol.c_str());
    if (!entry)
      return absl::InvalidArgumentError(
          absl::StrCat(name_, ": the code defines no kernel '", kernel, "'"));
    out.push_back(reinterpret_cast<KernelEntry>(entry));
  }
  return out;
}

} // namespace bathy::rt
