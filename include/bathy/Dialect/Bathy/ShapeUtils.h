//===- ShapeUtils.h - Shape arithmetic shared by the bathy dialect --------===//
//
// Broadcasting, type refinement and the small helpers that every op's type
// inference uses. Dynamic dims are mlir::ShapedType::kDynamic throughout.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_DIALECT_BATHY_SHAPEUTILS_H
#define BATHY_DIALECT_BATHY_SHAPEUTILS_H

#include <optional>

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeRange.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

namespace bathy {

/// True if each `actual` type may stand where `inferred` was inferred: both
/// tensors of the same element type with compatible shapes (a dynamic dim or
/// an unranked tensor on either side matches anything).
bool areRefinableTypes(mlir::TypeRange inferred, mlir::TypeRange actual);

/// The most precise type compatible with both, or null if they conflict.
mlir::Type meetTensorTypes(mlir::Type a, mlir::Type b);

/// NumPy broadcast of two shapes. A dynamic dim against 1 stays dynamic; a
/// dynamic dim against a static size N > 1 becomes N. Fails (and names both
/// shapes) when two static dims differ and neither is 1.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// A ranked tensor if `shape` is set, unranked otherwise.
mlir::TensorType makeTensorType(std::optional<llvm::ArrayRef<int64_t>> shape,
                                mlir::Type elementType);

/// Formats a shape as "2x?x4" (or "*" for no shape).
std::string shapeToString(std::optional<llvm::ArrayRef<int64_t>> shape);

/// The shape of a tensor type if it is ranked.
std::optional<llvm::ArrayRef<int64_t>> getShapeIfRanked(mlir::Type type);

/// Product of static dims, or kDynamic if any dim is dynamic.
int64_t staticProduct(llvm::ArrayRef<int64_t> shape);

/// Upper bound on elements that folders materialize as new constants.
constexpr int64_t kMaxFoldElements = 4096;

namespace infer {
/// Emits "'<op>' op <message>" at `loc` (when given) and returns failure.
template <typename... Args>
mlir::LogicalResult inferError(std::optional<mlir::Location> loc,
                               llvm::StringRef opName, Args &&...args) {
  return mlir::emitOptionalError(loc, "'", opName, "' op ",
                                 std::forward<Args>(args)...);
}

/// Type inference shared by an op family; each emits errors at `loc`.
mlir::LogicalResult inferBroadcast(std::optional<mlir::Location> loc,
                                   llvm::StringRef opName,
                                   llvm::ArrayRef<mlir::Type> operands,
                                   mlir::Type resultElementType,
                                   llvm::SmallVectorImpl<mlir::Type> &inferred);

mlir::LogicalResult inferReduction(std::optional<mlir::Location> loc,
                                   llvm::StringRef opName, mlir::Type inputType,
                                   llvm::ArrayRef<int64_t> axes, bool keepdims,
                                   mlir::Type resultElementType,
                                   llvm::SmallVectorImpl<mlir::Type> &inferred);

/// Checks 0 <= axis < rank (when the rank is known).
mlir::LogicalResult checkAxis(std::optional<mlir::Location> loc,
                              llvm::StringRef opName, llvm::StringRef what,
                              int64_t axis, std::optional<int64_t> rank);

/// Checks that `axes` are sorted, unique and in [0, rank).
mlir::LogicalResult checkSortedAxes(std::optional<mlir::Location> loc,
                                    llvm::StringRef opName,
                                    llvm::ArrayRef<int64_t> axes,
                                    std::optional<int64_t> rank);
/// What is known about the values of a small 1-D (or scalar) integer tensor:
/// one entry per element, nullopt where the value is only known at run time.
/// Sees through the Shape -> Gather -> Unsqueeze -> Concat chains and the
/// scalar arithmetic exporters write, so a reshape target such as
/// concat(batch, seq, [12], [64]) is known to end in 12 and 64 even when
/// batch and seq are dynamic. Returns nullopt when nothing can be said.
using PartialValues = llvm::SmallVector<std::optional<int64_t>>;
std::optional<PartialValues> getPartialInts(mlir::Value value, int depth = 0);

} // namespace infer

} // namespace bathy

#endif // BATHY_DIALECT_BATHY_SHAPEUTILS_H
