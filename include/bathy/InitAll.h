//===- InitAll.h - Registration of bathy's dialects and passes ------------===//
//
// The one place where tools register what they can parse and run; every tool
// calls these rather than listing dialects itself.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_INITALL_H
#define BATHY_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace bathy {

/// Registers the bathy dialect and the upstream dialects bathy IR uses.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers bathy's passes and pipelines, and the upstream passes of the
/// dialects bathy uses (canonicalize, cse, linalg, bufferization, the
/// conversions to LLVM, ...), for use by name on the command line.
void registerAllPasses();

} // namespace bathy

#endif // BATHY_INITALL_H
