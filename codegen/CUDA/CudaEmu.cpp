//===- CudaEmu.cpp - CUDA C++ built for the CPU against the emulation -----===//
//
// --device=cuda-emu: the emitted source and the prelude go into a private
// temporary folder, the host C++ compiler builds a shared object from them
// (one translation unit, -O1: the node tests compile hundreds of small
// models, the e2e models a few large ones), and its bytes are loaded by the
// runtime like the CPU target's code.
//
//===----------------------------------------------------------------------===//
#include <cstdlib>

#include "bathy/Codegen/CUDA/Cuda.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace bathy {

static llvm::Error writeFile(llvm::StringRef path, llvm::StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError("cannot write " + path.str() + ": " +
                                   ec.message());
  os << text;
  return llvm::Error::success();
}

llvm::Expected<std::string> buildCudaEmulation(llvm::StringRef source,
                                               llvm::StringRef what) {
  std::string compilerName = "c++";
  if (const char *cxx = std::getenv("BATHY_CXX"); cxx && *cxx)
    compilerName = cxx;
  llvm::ErrorOr<std::string> compiler =
      llvm::sys::findProgramByName(compilerName);
  if (!compiler)
    return llvm::createStringError(
        "--device=cuda-emu needs a host C++ compiler: '" + compilerName +
        "' is not on PATH (set BATHY_CXX)");
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("bathy-cuda-emu", dir))
    return llvm::createStringError("cannot make a temporary folder: " +
                                   ec.message());
  llvm::scope_exit cleanup([&] {
    for (const char *f : {"kernels.cu.cc", "bathy_cuda.h", "kernels.so",
                          "compiler.log"}) {
      llvm::SmallString<128> p(dir);
      llvm::sys::path::append(p, f);
      llvm::sys::fs::remove(p);
    }
    llvm::sys::fs::remove(dir);
  });
  auto at = [&](const char *f) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, f);
    return std::string(p);
  };
  if (llvm::Error e = writeFile(at("bathy_cuda.h"), cudaPrelude()))
    return e;
  if (llvm::Error e = writeFile(at("kernels.cu.cc"), source))
    return e;
  std::string src = at("kernels.cu.cc"), so = at("kernels.so"),
              log = at("compiler.log");
  llvm::SmallVector<llvm::StringRef> args = {
      *compiler, "-std=c++17", "-O1", "-fPIC", "-shared",
      "-fvisibility=hidden", "-w", "-o", so, src};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*compiler, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/600, 0, &error);
  if (rc != 0) {
    std::string messages;
    if (auto buf = llvm::MemoryBuffer::getFile(log))
      messages = (*buf)->getBuffer().take_front(4000).str();
    return llvm::createStringError(
        "the host C++ compiler (" + *compiler + ") could not build the CUDA " +
        "emulation of " + what.str() + (error.empty() ? "" : ": " + error) +
        ":\n" + messages);
  }
  auto bytes = llvm::MemoryBuffer::getFile(so);
  if (!bytes)
    return llvm::createStringError("cannot read " + so + ": " +
                                   bytes.getError().message());
  return (*bytes)->getBuffer().str();
}

} // namespace bathy
