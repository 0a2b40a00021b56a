//===- OnnxImporter.h - ONNX models into the bathy dialect ----------------===//
//
// Reads ONNX models (binary protobuf with optional external-data weights, or
// ONNX's text format) and builds a module with one `func.func @main` in the
// bathy dialect. Every op's location names the ONNX node it came from.
// Problems are reported as MLIR diagnostics on the context; nothing aborts
// on bad input.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_IMPORTER_ONNXIMPORTER_H
#define BATHY_IMPORTER_ONNXIMPORTER_H

#include <cstdint>
#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace bathy {

/// Options for importing ONNX models.
struct OnnxImportOptions {
  /// Initializers with at most this many elements become inline dense
  /// constants (so shape arithmetic folds); larger ones become resource blobs.
  int64_t maxInlineElements = 64;
  /// Size limit of one external-data file read (bytes); guards against
  /// absurd lengths in hostile models.
  uint64_t maxExternalBytes = uint64_t(1) << 36;
};

/// Imports the model at `path` (`.onnx`, or `.onnxtext`/`.txt` for the text
/// format). Returns null after emitting diagnostics if the model is malformed
/// or uses unsupported ops (all of which are listed at once).
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxFile(llvm::StringRef path, mlir::MLIRContext *context,
               const OnnxImportOptions &options = {});

/// Imports a model held in memory (binary protobuf, or the text format when
/// `text`); `name` stands for it in messages. External data is rejected.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxBuffer(llvm::StringRef contents, llvm::StringRef name, bool text,
                 mlir::MLIRContext *context,
                 const OnnxImportOptions &options = {});

/// Prints one line per op type of the model at `path` (count, whether
/// supported, at which opset) and then every unsupported node by name.
/// Fails if the model cannot be read or any node is unsupported.
mlir::LogicalResult checkOnnxFile(llvm::StringRef path,
                                  mlir::MLIRContext *context,
                                  llvm::raw_ostream &os);

/// Writes the table of ONNX ops bathy imports (Markdown: op, domain, the
/// opsets it is accepted at, and where its semantics change), as
/// docs/supported-ops.md holds it (`ninja bathy-op-list`).
void printSupportedOps(llvm::raw_ostream &os);

/// The external-data files the model at `path` names (each as the model's
/// folder joined with its location), for identifying a model by all of
/// its bytes. Errors are emitted as diagnostics.
mlir::FailureOr<std::vector<std::string>>
externalDataFiles(llvm::StringRef path, mlir::MLIRContext *context);

/// Newest default-domain opset the importer knows.
constexpr int64_t kMaxSupportedOpset = 23;
/// Newest ONNX IR version the importer reads (onnx 1.22's).
constexpr int64_t kMaxIrVersion = 13;

} // namespace bathy

#endif // BATHY_IMPORTER_ONNXIMPORTER_H
