//===- ToolSupport.cpp - What every bathy command-line tool shares --------===//
#include "bathy/Support/ToolSupport.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"

#ifndef BATHY_VERSION
#define BATHY_VERSION "unknown"
#endif
#ifndef BATHY_GIT_REVISION
#define BATHY_GIT_REVISION ""
#endif

namespace bathy {

std::string versionString() {
  std::string out = std::string("bathy ") + BATHY_VERSION;
  llvm::StringRef git = BATHY_GIT_REVISION;
  if (!git.empty())
    out += " (git " + git.str() + ")";
  return out;
}

void installVersionPrinter(llvm::StringRef name) {
  static std::string tool;
  tool = name.str();
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << tool << ": " << versionString() << "\n"
       << "  built with LLVM and MLIR " << LLVM_VERSION_STRING << "\n";
  });
}

void hideLibraryOptions() {
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::StringRef name = entry.first;
    // The generic options stay: help, version.
    if (name.starts_with("help") || name == "version")
      continue;
    entry.second->setHiddenFlag(llvm::cl::Hidden);
  }
}

} // namespace bathy
