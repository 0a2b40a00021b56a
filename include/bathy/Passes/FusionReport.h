//===- FusionReport.h - What fusion did, for people and tools -------------===//
#ifndef BATHY_PASSES_FUSIONREPORT_H
#define BATHY_PASSES_FUSIONREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace bathy {

/// Describes the kernels a module's host functions launch, in launch order:
/// each kernel's kind, the ONNX nodes it covers, and why inputs from other
/// kernels were not fused; ends with `kernels: N (ops: M)`. With `json`, the
/// same as one JSON object. Expects the output of bathy-kernel-pipeline.
void printFusionReport(mlir::ModuleOp module, llvm::raw_ostream &os, bool json);

} // namespace bathy

#endif // BATHY_PASSES_FUSIONREPORT_H
