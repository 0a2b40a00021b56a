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

/// A dynamic dim in shapes (mlir::ShapedType::kDynamic), spelled short.
inline constexpr int64_t kDyn = mlir::ShapedType::kDynamic;

/// True if each `actual` type may stand where `inferred` was inferred: both
/// tensors of the same element type with compatible shapes (a dynamic dim or
/// an unranked tensor on either side matches anything).
bool areRefinableTypes(mlir::TypeRange inferred, mlir::TypeRange actual);

/// The most precise type compatible with both, or null if they conflict.
mlir::Type meetTensorTypes(mlir::Type a, mlir::Type b);

/// The broadcast of two static sizes (shape::broadcast's join for type
/// inference): 1 yields to the other size, kDyn to a static one; nullopt
/// for two different static sizes, neither 1.
std::optional<int64_t> joinStaticSizes(int64_t a, int64_t b);

/// Static integer arithmetic for the rules in ShapeRules.h that compute
/// (shape::sliceAxis, shape::rangeCount): wrapping, as the run-time
/// arithmetic is.
struct StaticArith {
  using Int = int64_t;
  static int64_t wrap(uint64_t v) { return static_cast<int64_t>(v); }
  int64_t constant(int64_t c) const { return c; }
  int64_t add(int64_t a, int64_t b) const {
    return wrap(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  }
  int64_t sub(int64_t a, int64_t b) const {
    return wrap(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  }
  int64_t min(int64_t a, int64_t b) const { return a < b ? a : b; }
  int64_t max(int64_t a, int64_t b) const { return a < b ? b : a; }
  bool lt(int64_t a, int64_t b) const { return a < b; }
  bool gt(int64_t a, int64_t b) const { return a > b; }
  int64_t select(bool c, int64_t a, int64_t b) const { return c ? a : b; }
  bool ne(int64_t a, int64_t b) const { return a != b; }
  int64_t divu(int64_t a, int64_t b) const {
    return wrap(static_cast<uint64_t>(a) / static_cast<uint64_t>(b));
  }
  int64_t remu(int64_t a, int64_t b) const {
    return wrap(static_cast<uint64_t>(a) % static_cast<uint64_t>(b));
  }
};

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

/// The rank of tensor type `type`, nullopt when unranked.
std::optional<int64_t> rankOf(mlir::Type type);
/// The element type of tensor type `type`.
mlir::Type elementOf(mlir::Type type);

/// Ops along one axis that keep their input's type (softmax, log_softmax,
/// hardmax): checks the axis.
mlir::LogicalResult inferAlongAxis(std::optional<mlir::Location> loc,
                                   llvm::StringRef opName, mlir::Type inputType,
                                   int64_t axis,
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
/// The elements of a constant integer tensor, if `value` is one.
std::optional<llvm::SmallVector<int64_t>> getConstantInts(mlir::Value value);
std::optional<PartialValues> getPartialInts(mlir::Value value, int depth = 0);

/// The window of a convolution or pooling op over `spatial` dims: strides
/// and dilations (default 1), pads (all begins, then all ends; default 0).
struct Window {
  llvm::SmallVector<int64_t> strides, dilations, pads;
};

/// The window of a windowed op from its optional attributes, defaulted;
/// fails (with an error at `loc`, when given) when an attribute has the
/// wrong number of entries or an entry below its minimum (1 for strides and
/// dilations, 0 for pads). Inference, decompositions and lowering all read
/// windows through it.
mlir::FailureOr<Window>
getWindow(std::optional<mlir::Location> loc, llvm::StringRef name,
          int64_t spatial, std::optional<llvm::ArrayRef<int64_t>> strides,
          std::optional<llvm::ArrayRef<int64_t>> pads,
          std::optional<llvm::ArrayRef<int64_t>> dilations);

/// The output size of spatial dim `dim` of a windowed op over an input
/// size `in` with a `kernel` size (kDyn if either is dynamic): the one
/// shape rule of convolution and pooling, ceil mode included. Fails with an
/// error at `loc` when the window does not fit.
mlir::FailureOr<int64_t> windowedSize(std::optional<mlir::Location> loc,
                                      llvm::StringRef name, int64_t dim,
                                      int64_t in, int64_t kernel,
                                      const Window &w, bool ceilMode);

/// Fails (naming both) unless every tensor type in `types` has the element
/// type of the first.
mlir::LogicalResult checkSameElementType(std::optional<mlir::Location> loc,
                                         llvm::StringRef opName,
                                         llvm::ArrayRef<mlir::Type> types);

/// getWindow for a conv or pooling op, without diagnostics.
template <typename OpTy>
mlir::FailureOr<Window> getWindow(OpTy op, int64_t spatial) {
  return getWindow(std::nullopt, "", spatial, op.getStrides(), op.getPads(),
                   op.getDilations());
}

} // namespace infer

} // namespace bathy

#endif // BATHY_DIALECT_BATHY_SHAPEUTILS_H
