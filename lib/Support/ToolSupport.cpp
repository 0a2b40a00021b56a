//===- ToolSupport.cpp - What every bathy command-line tool shares --------===//
#include "bathy/Support/ToolSupport.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"

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

Progress::Progress(bool enabled)
    : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start_)
      .count();
}

void Progress::operator()(llvm::StringRef what) const {
  if (enabled_)
    llvm::errs() << llvm::format("[%6.2fs] ", seconds()) << what << "\n";
}

} // namespace bathy
