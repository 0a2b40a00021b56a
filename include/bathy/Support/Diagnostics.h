//===- Diagnostics.h - Printing diagnostics for command-line tools --------===//
//
// Tools print MLIR diagnostics as "error: <message>" with the ONNX node the
// location names ("at node 'conv1' (Conv)"), instead of raw MLIR locations.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SUPPORT_DIAGNOSTICS_H
#define BATHY_SUPPORT_DIAGNOSTICS_H

#include <memory>
#include <string>

#include "bathy/Dialect/Bathy/Provenance.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

namespace bathy {

/// Prints every diagnostic of `context` to `os` while alive.
class ToolDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  ToolDiagnosticHandler(mlir::MLIRContext *context, llvm::raw_ostream &os);
};

} // namespace bathy

#endif // BATHY_SUPPORT_DIAGNOSTICS_H
