//===- Tensors.h - ONNX tensors and types into MLIR -----------------------===//
#ifndef BATHY_IMPORTER_TENSORS_H
#define BATHY_IMPORTER_TENSORS_H

#include <string>
#include <vector>

#include "bathy/Importer/OnnxImporter.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "onnx/onnx_pb.h"

namespace bathy::onnx_import {

/// ONNX's name for a TensorProto::DataType value ("FLOAT", "INT64", ...).
std::string onnxTypeName(int32_t dataType);

/// The MLIR element type for an ONNX data type, or failure (with an error at
/// `loc` naming `what`) for types bathy does not support.
mlir::FailureOr<mlir::Type>
convertElementType(int32_t dataType, mlir::Location loc, llvm::StringRef what);

/// Where tensor data lives and the limits for reading it.
struct TensorSource {
  std::string modelDirectory;
  const OnnxImportOptions *options;
};

/// Converts a TensorProto (raw data, typed fields or external data) into a
/// constant attribute: inline dense when small (or `forceInline`), a
/// dense_resource blob otherwise. Errors name the tensor.
mlir::FailureOr<mlir::ElementsAttr>
convertTensor(const onnx::TensorProto &tensor, const TensorSource &source,
              mlir::Location loc, bool forceInline = false);

} // namespace bathy::onnx_import

#endif // BATHY_IMPORTER_TENSORS_H
