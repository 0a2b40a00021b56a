//===- ToolSupport.h - What every bathy command-line tool shares ----------===//
//
// --version that names bathy (and the LLVM/MLIR it was built with), and a
// --help that lists the tool's own options rather than the hundreds every
// LLVM backend registers in libLLVM.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SUPPORT_TOOLSUPPORT_H
#define BATHY_SUPPORT_TOOLSUPPORT_H

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

} // namespace bathy

#endif // BATHY_SUPPORT_TOOLSUPPORT_H
