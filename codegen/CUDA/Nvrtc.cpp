//===- Nvrtc.cpp - NVRTC through dlopen -----------------------------------===//
//
// The compiler loads NVRTC when it is asked to compile CUDA, never at start:
// bathy builds and runs without the CUDA toolkit, and a machine without it
// gets an error naming what was looked for. The few functions used are
// declared here (NVRTC's C API is stable), so nvrtc.h is not needed to build.
//
//===----------------------------------------------------------------------===//
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "bathy/Codegen/CUDA/Cuda.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

namespace bathy {
namespace {

using nvrtcProgram = struct _nvrtcProgram *;
using nvrtcResult = int;

struct Nvrtc {
  void *handle = nullptr;
  std::string error, path, includeDir;
  const char *(*getErrorString)(nvrtcResult) = nullptr;
  nvrtcResult (*version)(int *, int *) = nullptr;
  nvrtcResult (*createProgram)(nvrtcProgram *, const char *, const char *, int,
                               const char *const *,
                               const char *const *) = nullptr;
  nvrtcResult (*destroyProgram)(nvrtcProgram *) = nullptr;
  nvrtcResult (*compileProgram)(nvrtcProgram, int,
                                const char *const *) = nullptr;
  nvrtcResult (*getProgramLogSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*getProgramLog)(nvrtcProgram, char *) = nullptr;
  nvrtcResult (*getPTXSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*getPTX)(nvrtcProgram, char *) = nullptr;
  nvrtcResult (*getCUBINSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*getCUBIN)(nvrtcProgram, char *) = nullptr;
};

/// The CUDA toolkit's root: $CUDA_HOME, else /usr/local/cuda.
std::string cudaHome() {
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return home;
  return "/usr/local/cuda";
}

const Nvrtc &nvrtc() {
  static Nvrtc lib;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    if (const char *p = std::getenv("BATHY_NVRTC"); p && *p)
      candidates.push_back(p);
    std::string home = cudaHome();
    candidates.push_back(home + "/lib64/libnvrtc.so.13");
    candidates.push_back(home + "/lib64/libnvrtc.so");
    candidates.push_back("libnvrtc.so.13");
    candidates.push_back("libnvrtc.so.12");
    std::string tried;
    for (const std::string &c : candidates) {
      lib.handle = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib.handle) {
        lib.path = c;
        break;
      }
      tried += (tried.empty() ? "" : ", ") + c;
    }
    if (!lib.handle) {
      lib.error = "NVRTC (libnvrtc) was not found (tried " + tried +
                  "); install the CUDA toolkit or set BATHY_NVRTC or "
                  "CUDA_HOME";
      return;
    }
    bool missing = false;
    auto bind = [&](auto &fn, const char *symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib.handle, symbol));
      if (!fn && !missing) {
        lib.error = lib.path + " has no " + symbol;
        missing = true;
      }
    };
    bind(lib.getErrorString, "nvrtcGetErrorString");
    bind(lib.version, "nvrtcVersion");
    bind(lib.createProgram, "nvrtcCreateProgram");
    bind(lib.destroyProgram, "nvrtcDestroyProgram");
    bind(lib.compileProgram, "nvrtcCompileProgram");
    bind(lib.getProgramLogSize, "nvrtcGetProgramLogSize");
    bind(lib.getProgramLog, "nvrtcGetProgramLog");
    bind(lib.getPTXSize, "nvrtcGetPTXSize");
    bind(lib.getPTX, "nvrtcGetPTX");
    bind(lib.getCUBINSize, "nvrtcGetCUBINSize");
    bind(lib.getCUBIN, "nvrtcGetCUBIN");
    if (missing) {
      dlclose(lib.handle);
      lib.handle = nullptr;
      return;
    }
    // cuda_fp16.h: beside the toolkit's NVRTC, or in $CUDA_HOME.
    for (std::string dir :
         {home + "/include", home + "/targets/x86_64-linux/include"})
      if (llvm::sys::fs::exists(dir + "/cuda_fp16.h")) {
        lib.includeDir = dir;
        break;
      }
  });
  return lib;
}

} // namespace

llvm::Expected<std::string> nvrtcVersion() {
  const Nvrtc &lib = nvrtc();
  if (!lib.handle)
    return llvm::createStringError(lib.error);
  int major = 0, minor = 0;
  lib.version(&major, &minor);
  return std::to_string(major) + "." + std::to_string(minor);
}

llvm::Expected<std::vector<NvrtcResult>>
compileWithNvrtc(llvm::StringRef source, llvm::ArrayRef<std::string> archs,
                 llvm::StringRef name) {
  const Nvrtc &lib = nvrtc();
  if (!lib.handle)
    return llvm::createStringError(lib.error);
  if (lib.includeDir.empty())
    return llvm::createStringError(
        "the CUDA headers (cuda_fp16.h) were not found under " + cudaHome() +
        "; set CUDA_HOME");
  std::vector<NvrtcResult> out;
  std::string src = source.str(), progName = name.str() + ".cu";
  const char *headers[] = {cudaPrelude().data()};
  const char *headerNames[] = {kCudaPreludeName};
  for (const std::string &arch : archs) {
    llvm::StringRef a(arch);
    bool ptx = a.starts_with("compute_");
    if (!ptx && !a.starts_with("sm_"))
      return llvm::createStringError(
          "'" + arch + "' is not a CUDA architecture (sm_80, sm_90, "
                       "compute_90, ...)");
    nvrtcProgram prog = nullptr;
    if (nvrtcResult r = lib.createProgram(&prog, src.c_str(), progName.c_str(),
                                          1, headers, headerNames))
      return llvm::createStringError(std::string("nvrtcCreateProgram: ") +
                                     lib.getErrorString(r));
    std::string archOption = "--gpu-architecture=" + arch;
    std::string include = "-I" + lib.includeDir;
    std::vector<const char *> options = {archOption.c_str(), include.c_str(),
                                         "--std=c++17", "-default-device"};
    if (!ptx)
      options.push_back("--ptxas-options=-v");
    nvrtcResult r = lib.compileProgram(prog, static_cast<int>(options.size()),
                                       options.data());
    size_t logSize = 0;
    lib.getProgramLogSize(prog, &logSize);
    std::string log(logSize, '\0');
    if (logSize)
      lib.getProgramLog(prog, log.data());
    while (!log.empty() && log.back() == '\0')
      log.pop_back();
    if (r != 0) {
      lib.destroyProgram(&prog);
      return llvm::createStringError(
          "NVRTC could not compile " + name.str() + " for " + arch + " (" +
          lib.getErrorString(r) + "):\n" + log);
    }
    NvrtcResult result;
    result.arch = arch;
    result.log = log;
    size_t size = 0;
    if (ptx) {
      lib.getPTXSize(prog, &size);
      result.binary.resize(size);
      lib.getPTX(prog, result.binary.data());
      while (!result.binary.empty() && result.binary.back() == '\0')
        result.binary.pop_back();
    } else {
      lib.getCUBINSize(prog, &size);
      result.binary.resize(size);
      lib.getCUBIN(prog, result.binary.data());
      // The PTX of a real architecture is there too (".target sm_XY"),
      // which the driver JITs for that GPU and later ones.
      size = 0;
      if (lib.getPTXSize(prog, &size) == 0 && size > 1) {
        result.ptx.resize(size);
        lib.getPTX(prog, result.ptx.data());
        while (!result.ptx.empty() && result.ptx.back() == '\0')
          result.ptx.pop_back();
      }
    }
    lib.destroyProgram(&prog);
    out.push_back(std::move(result));
  }
  return out;
}

std::vector<KernelResources> parsePtxasLog(llvm::StringRef log) {
  // ptxas -v writes, per function:
  //   ptxas info    : Compiling entry function 'k' for 'sm_80'
  //   ptxas info    : Function properties for k
  //       N bytes stack frame, S bytes spill stores, L bytes spill loads
  //   ptxas info    : Used R registers, ...
  std::vector<KernelResources> out;
  llvm::Regex entry("Compiling entry function '([^']+)'");
  llvm::Regex frame("([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, "
                    "([0-9]+) bytes spill loads");
  llvm::Regex regs("Used ([0-9]+) registers");
  llvm::SmallVector<llvm::StringRef> lines;
  log.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    llvm::SmallVector<llvm::StringRef, 4> m;
    if (entry.match(line, &m)) {
      out.push_back({m[1].str()});
    } else if (!out.empty() && frame.match(line, &m)) {
      m[1].getAsInteger(10, out.back().stackFrame);
      m[2].getAsInteger(10, out.back().spillStores);
      m[3].getAsInteger(10, out.back().spillLoads);
    } else if (!out.empty() && regs.match(line, &m)) {
      m[1].getAsInteger(10, out.back().registers);
    }
  }
  return out;
}

} // namespace bathy
