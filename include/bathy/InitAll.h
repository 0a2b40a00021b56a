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

/// Registers bathy's passes and the upstream generic passes (canonicalize,
/// cse, ...) for use by name in pipelines and on the command line.
void registerAllPasses();

} // namespace bathy

#endif // BATHY_INITALL_H
