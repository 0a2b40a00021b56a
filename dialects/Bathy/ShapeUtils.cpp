//===- ShapeUtils.cpp - Shape arithmetic shared by the bathy dialect ------===//
#include "bathy/Dialect/Bathy/ShapeUtils.h"

#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace bathy {

bool areRefinableTypes(TypeRange inferred, TypeRange actual) {
  if (inferred.size() != actual.size())
    return false;
  for (auto [a, b] : llvm::zip(inferred, actual)) {
    auto ta = dyn_cast<TensorType>(a);
    auto tb = dyn_cast<TensorType>(b);
    if (!ta || !tb) {
      if (a != b)
        return false;
      continue;
    }
    if (ta.getElementType() != tb.getElementType())
      return false;
    if (ta.hasRank() && tb.hasRank() &&
        failed(verifyCompatibleShape(ta.getShape(), tb.getShape())))
      return false;
  }
  return true;
}

Type meetTensorTypes(Type a, Type b) {
  auto ta = dyn_cast<TensorType>(a);
  auto tb = dyn_cast<TensorType>(b);
  if (!ta || !tb)
    return a == b ? a : Type();
  if (ta.getElementType() != tb.getElementType())
    return Type();
  if (!ta.hasRank())
    return tb;
  if (!tb.hasRank())
    return ta;
  if (ta.getRank() != tb.getRank())
    return Type();
  SmallVector<int64_t> shape;
  for (auto [da, db] : llvm::zip(ta.getShape(), tb.getShape())) {
    if (ShapedType::isDynamic(da))
      shape.push_back(db);
    else if (ShapedType::isDynamic(db) || da == db)
      shape.push_back(da);
    else
      return Type();
  }
  // Keep an encoding from either side.
  Attribute encoding = cast<RankedTensorType>(ta).getEncoding();
  if (!encoding)
    encoding = cast<RankedTensorType>(tb).getEncoding();
  return RankedTensorType::get(shape, ta.getElementType(), encoding);
}

FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == 1)
      out[i] = db;
    else if (db == 1)
      out[i] = da;
    else if (ShapedType::isDynamic(da))
      out[i] = db;
    else if (ShapedType::isDynamic(db) || da == db)
      out[i] = da;
    else
      return failure();
  }
  return out;
}

TensorType makeTensorType(std::optional<ArrayRef<int64_t>> shape,
                          Type elementType) {
  if (shape)
    return RankedTensorType::get(*shape, elementType);
  return UnrankedTensorType::get(elementType);
}

std::string shapeToString(std::optional<ArrayRef<int64_t>> shape) {
  if (!shape)
    return "*";
  if (shape->empty())
    return "scalar";
  return llvm::join(llvm::map_range(*shape,
                                    [](int64_t d) {
                                      return ShapedType::isDynamic(d)
                                                 ? std::string("?")
                                                 : std::to_string(d);
                                    }),
                    "x");
}

std::optional<ArrayRef<int64_t>> getShapeIfRanked(Type type) {
  if (auto ranked = dyn_cast<RankedTensorType>(type))
    return ranked.getShape();
  return std::nullopt;
}

int64_t staticProduct(ArrayRef<int64_t> shape) {
  int64_t product = 1;
  for (int64_t d : shape) {
    if (ShapedType::isDynamic(d))
      return ShapedType::kDynamic;
    product *= d;
  }
  return product;
}

namespace infer {

LogicalResult inferBroadcast(std::optional<Location> loc, StringRef opName,
                             ArrayRef<Type> operands, Type resultElementType,
                             SmallVectorImpl<Type> &inferred) {
  // The element type of the data operands (the last two of where, both of a
  // binary op) must agree.
  Type element;
  size_t firstData = operands.size() == 3 ? 1 : 0;
  for (size_t i = firstData; i < operands.size(); ++i) {
    Type e = cast<TensorType>(operands[i]).getElementType();
    if (element && e != element)
      return inferError(loc, opName, "operands have different element types (",
                        element, " and ", e, ")");
    element = e;
  }
  std::optional<SmallVector<int64_t>> shape = SmallVector<int64_t>();
  for (Type t : operands) {
    std::optional<ArrayRef<int64_t>> s = getShapeIfRanked(t);
    if (!s) {
      shape.reset();
      break;
    }
    FailureOr<SmallVector<int64_t>> b = broadcastShapes(*shape, *s);
    if (failed(b))
      return inferError(loc, opName, "operand shapes ",
                        shapeToString(ArrayRef<int64_t>(*shape)), " and ",
                        shapeToString(*s), " are not broadcast-compatible");
    shape = std::move(*b);
  }
  Type resultElement = resultElementType ? resultElementType : element;
  inferred.push_back(
      shape ? makeTensorType(ArrayRef<int64_t>(*shape), resultElement)
            : makeTensorType(std::nullopt, resultElement));
  return success();
}

LogicalResult checkAxis(std::optional<Location> loc, StringRef opName,
                        StringRef what, int64_t axis,
                        std::optional<int64_t> rank) {
  if (axis < 0)
    return inferError(loc, opName, what, " ", axis,
                      " is negative; axes are normalized to [0, rank)");
  if (rank && axis >= *rank)
    return inferError(loc, opName, what, " ", axis,
                      " is out of range for rank ", *rank);
  return success();
}

LogicalResult checkSortedAxes(std::optional<Location> loc, StringRef opName,
                              ArrayRef<int64_t> axes,
                              std::optional<int64_t> rank) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (failed(checkAxis(loc, opName, "axis", axes[i], rank)))
      return failure();
    if (i > 0 && axes[i] <= axes[i - 1])
      return inferError(loc, opName, "axes must be sorted and unique");
  }
  return success();
}

LogicalResult inferReduction(std::optional<Location> loc, StringRef opName,
                             Type inputType, ArrayRef<int64_t> axes,
                             bool keepdims, Type resultElementType,
                             SmallVectorImpl<Type> &inferred) {
  auto input = cast<TensorType>(inputType);
  Type element = resultElementType ? resultElementType : input.getElementType();
  std::optional<int64_t> rank;
  if (input.hasRank())
    rank = input.getRank();
  if (failed(checkSortedAxes(loc, opName, axes, rank)))
    return failure();
  if (!rank) {
    inferred.push_back(makeTensorType(std::nullopt, element));
    return success();
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < *rank; ++i) {
    bool reduced = axes.empty() || llvm::is_contained(axes, i);
    if (!reduced)
      shape.push_back(input.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  inferred.push_back(makeTensorType(ArrayRef<int64_t>(shape), element));
  return success();
}

} // namespace infer
} // namespace bathy
