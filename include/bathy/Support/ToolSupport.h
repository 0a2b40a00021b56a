//===- ToolSupport.h - What every bathy command-line tool shares ----------===//
//
// --version that names bathy (and the LLVM/MLIR it was built with), and a
// --help that lists the tool's own options rather than the hundreds every
// LLVM backend registers in libLLVM.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SUPPORT_TOOLSUPPORT_H
#define BATHY_SUPPORT_TOOLSUPPORT_H

#include <chrono>

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

namespace bathy {

/// "bathy 0.1.0 (git 1a2b3c4)".
std::string versionString();

/// Makes --version print bathy's version and LLVM's for tool `name`.
void installVersionPrinter(llvm::StringRef name);

/// Hides every command-line option registered so far: the options LLVM's
/// and MLIR's libraries register when they load (backend tuning flags of
/// every target). Options a tool registers afterwards stay visible, and
/// --help-hidden still lists everything. Call first thing in main.
void hideLibraryOptions();

/// Progress messages on stderr ("[  1.23s] lowering 32 kernels"), when
/// enabled (tools enable it when stderr is a terminal and not --quiet).
class Progress {
public:
  explicit Progress(bool enabled);
  void operator()(llvm::StringRef what) const;
  /// Seconds since construction.
  double seconds() const;

private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace bathy

#endif // BATHY_SUPPORT_TOOLSUPPORT_H
