//===- Provenance.h - The ONNX nodes a location names ---------------------===//
//
// The importer locates every op at NameLoc(node name, NameLoc(op type)).
// These helpers turn such locations back into words for people: compile
// errors, run-time check messages, the fusion report.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_DIALECT_BATHY_PROVENANCE_H
#define BATHY_DIALECT_BATHY_PROVENANCE_H

#include <string>

#include "mlir/IR/Location.h"

namespace bathy {

/// Describes a location for people: "node 'conv1' (Conv)" for an imported
/// op, "file.onnx" for a file, "" when there is nothing useful to say.
std::string describeLocation(mlir::Location loc);

} // namespace bathy

#endif // BATHY_DIALECT_BATHY_PROVENANCE_H
