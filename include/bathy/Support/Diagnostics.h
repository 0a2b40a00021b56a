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

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

namespace bathy {

/// Describes a location for people: "node 'conv1' (Conv)" for an imported
/// op, "file.onnx" for a file, "" when there is nothing useful to say.
std::string describeLocation(mlir::Location loc);

/// Prints every diagnostic of `context` to `os` while alive.
class ToolDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  ToolDiagnosticHandler(mlir::MLIRContext *context, llvm::raw_ostream &os);
};

} // namespace bathy

#endif // BATHY_SUPPORT_DIAGNOSTICS_H
