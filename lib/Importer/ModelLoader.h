//===- ModelLoader.h - Reading ONNX model files ---------------------------===//
#ifndef BATHY_IMPORTER_MODELLOADER_H
#define BATHY_IMPORTER_MODELLOADER_H

#include <string>

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/LLVM.h"
#include "onnx/onnx_pb.h"

namespace bathy::onnx_import {

/// A parsed model and the folder its external data is relative to.
struct LoadedModel {
  onnx::ModelProto model;
  std::string path;
  std::string directory;
  /// Default-domain opset version.
  int64_t opset = 0;
};

/// Reads a binary or text ONNX model and checks its top level (graph
/// present, opsets known). Errors are emitted at the file's location.
mlir::FailureOr<LoadedModel> loadModel(llvm::StringRef path,
                                       mlir::MLIRContext *context);

/// Parses a model held in memory (binary, or text when `text`). `name`
/// stands for the model in messages; external data cannot be resolved.
mlir::FailureOr<LoadedModel> parseModel(llvm::StringRef contents,
                                        llvm::StringRef name, bool text,
                                        mlir::MLIRContext *context);

/// The opset version the model imports for `domain` (the default domain may
/// be spelled "" or "ai.onnx"), or 0 if it imports none.
int64_t getOpsetVersion(const onnx::ModelProto &model, llvm::StringRef domain);

/// "" and "ai.onnx" are the same domain.
std::string canonicalDomain(llvm::StringRef domain);

} // namespace bathy::onnx_import

#endif // BATHY_IMPORTER_MODELLOADER_H
