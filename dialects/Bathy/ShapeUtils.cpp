//===- ShapeUtils.cpp - Shape arithmetic shared by the bathy dialect ------===//
#include "bathy/Dialect/Bathy/ShapeUtils.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Dialect/Bathy/ShapeRules.h"

#include "mlir/IR/Matchers.h"

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

std::optional<int64_t> joinStaticSizes(int64_t a, int64_t b) {
  if (a == 1)
    return b;
  if (b == 1)
    return a;
  if (ShapedType::isDynamic(a))
    return b;
  if (ShapedType::isDynamic(b) || a == b)
    return a;
  return std::nullopt;
}

FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b) {
  int64_t rank = std::max(a.size(), b.size());
  std::optional<SmallVector<int64_t>> out = shape::broadcast<int64_t>(
      {a, b}, rank, int64_t{1}, joinStaticSizes);
  if (!out)
    return failure();
  return std::move(*out);
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
  SmallVector<int64_t> shape =
      bathy::shape::reduce<int64_t>(input.getShape(), axes, keepdims, 1);
  inferred.push_back(makeTensorType(ArrayRef<int64_t>(shape), element));
  return success();
}

FailureOr<Window> getWindow(std::optional<Location> loc, StringRef name,
                            int64_t spatial,
                            std::optional<ArrayRef<int64_t>> strides,
                            std::optional<ArrayRef<int64_t>> pads,
                            std::optional<ArrayRef<int64_t>> dilations) {
  Window w;
  w.strides.assign(spatial, 1);
  w.dilations.assign(spatial, 1);
  w.pads.assign(2 * spatial, 0);
  auto take = [&](std::optional<ArrayRef<int64_t>> given,
                  SmallVector<int64_t> &into, StringRef what, int64_t min,
                  int64_t count) -> LogicalResult {
    if (!given)
      return success();
    if (static_cast<int64_t>(given->size()) != count)
      return inferError(loc, name, what, " has ", given->size(),
                        " entries but ", count, " are needed for ", spatial,
                        " spatial dims");
    for (int64_t v : *given)
      if (v < min)
        return inferError(loc, name, what, " must be >= ", min, ", got ", v);
    into.assign(given->begin(), given->end());
    return success();
  };
  if (failed(take(strides, w.strides, "strides", 1, spatial)) ||
      failed(take(dilations, w.dilations, "dilations", 1, spatial)) ||
      failed(take(pads, w.pads, "pads", 0, 2 * spatial)))
    return failure();
  return w;
}

std::optional<int64_t> rankOf(Type type) {
  auto tensor = cast<TensorType>(type);
  if (!tensor.hasRank())
    return std::nullopt;
  return tensor.getRank();
}

Type elementOf(Type type) { return cast<TensorType>(type).getElementType(); }

std::optional<SmallVector<int64_t>> getConstantInts(Value value) {
  DenseIntElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  return llvm::to_vector(
      llvm::map_range(attr.getValues<APInt>(),
                      [](const APInt &v) { return v.getSExtValue(); }));
}

std::optional<PartialValues> getPartialInts(Value value, int depth) {
  if (depth > 8)
    return std::nullopt;
  if (std::optional<SmallVector<int64_t>> c = getConstantInts(value))
    return PartialValues(c->begin(), c->end());
  Operation *op = value.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto shape = dyn_cast<ShapeOp>(op)) {
    auto input = dyn_cast<RankedTensorType>(shape.getInput().getType());
    auto result = dyn_cast<RankedTensorType>(shape.getType());
    if (!input || !result || result.isDynamicDim(0))
      return std::nullopt;
    int64_t start = static_cast<int64_t>(shape.getStart());
    if (start < 0)
      start += input.getRank();
    start = std::clamp<int64_t>(start, 0, input.getRank());
    PartialValues out;
    for (int64_t i = 0; i < result.getDimSize(0); ++i) {
      int64_t d = input.getDimSize(start + i);
      out.push_back(ShapedType::isDynamic(d) ? std::nullopt
                                             : std::optional<int64_t>(d));
    }
    return out;
  }
  if (auto gather = dyn_cast<GatherOp>(op)) {
    std::optional<PartialValues> data =
        getPartialInts(gather.getData(), depth + 1);
    std::optional<SmallVector<int64_t>> idx =
        getConstantInts(gather.getIndices());
    if (!data || !idx || gather.getAxis() != 0)
      return std::nullopt;
    PartialValues out;
    for (int64_t i : *idx) {
      if (i < 0)
        i += data->size();
      if (i < 0 || i >= static_cast<int64_t>(data->size()))
        return std::nullopt;
      out.push_back((*data)[i]);
    }
    return out;
  }
  if (isa<UnsqueezeOp, SqueezeOp, ReshapeOp, CastOp>(op))
    return getPartialInts(op->getOperand(0), depth + 1);
  if (isa<AddOp, SubOp, MulOp, DivOp, ModOp>(op)) {
    std::optional<PartialValues> lhs =
        getPartialInts(op->getOperand(0), depth + 1);
    std::optional<PartialValues> rhs =
        getPartialInts(op->getOperand(1), depth + 1);
    if (!lhs || !rhs ||
        (lhs->size() != rhs->size() && lhs->size() != 1 && rhs->size() != 1))
      return std::nullopt;
    size_t n = std::max(lhs->size(), rhs->size());
    PartialValues out;
    for (size_t i = 0; i < n; ++i) {
      std::optional<int64_t> a = (*lhs)[lhs->size() == 1 ? 0 : i];
      std::optional<int64_t> b = (*rhs)[rhs->size() == 1 ? 0 : i];
      if (!a || !b || (isa<DivOp, ModOp>(op) && *b == 0)) {
        out.push_back(std::nullopt);
        continue;
      }
      if (auto mod = dyn_cast<ModOp>(op)) {
        // C++'s % takes the sign of the dividend (fmod); ONNX's integer Mod
        // takes the divisor's.
        int64_t r = *a % *b;
        if (!mod.getFmod() && r != 0 && ((r < 0) != (*b < 0)))
          r += *b;
        out.push_back(r);
        continue;
      }
      int64_t v = isa<AddOp>(op)   ? *a + *b
                  : isa<SubOp>(op) ? *a - *b
                  : isa<MulOp>(op) ? *a * *b
                                   : *a / *b;
      out.push_back(v);
    }
    return out;
  }
  if (auto slice = dyn_cast<SliceOp>(op)) {
    std::optional<PartialValues> data =
        getPartialInts(slice.getInput(), depth + 1);
    if (!data || slice.getAxes().size() != 1 || slice.getAxes()[0] != 0 ||
        slice.getSteps()[0] != 1)
      return std::nullopt;
    int64_t n = data->size();
    int64_t start = slice.getStarts()[0], end = slice.getEnds()[0];
    start = std::clamp<int64_t>(start < 0 ? start + n : start, 0, n);
    end = std::clamp<int64_t>(end < 0 ? end + n : end, 0, n);
    return PartialValues(data->begin() + start,
                         data->begin() + std::max(start, end));
  }
  if (auto concat = dyn_cast<ConcatOp>(op)) {
    PartialValues out;
    for (Value in : concat.getInputs()) {
      std::optional<PartialValues> part = getPartialInts(in, depth + 1);
      if (!part)
        return std::nullopt;
      out.append(part->begin(), part->end());
    }
    return out;
  }
  return std::nullopt;
}

LogicalResult checkSameElementType(std::optional<Location> loc,
                                   StringRef opName, ArrayRef<Type> types) {
  Type element = cast<TensorType>(types.front()).getElementType();
  for (Type t : types.drop_front())
    if (cast<TensorType>(t).getElementType() != element)
      return inferError(loc, opName, "operands have different element types (",
                        element, " and ", cast<TensorType>(t).getElementType(),
                        ")");
  return success();
}

FailureOr<int64_t> windowedSize(std::optional<Location> loc, StringRef name,
                                int64_t dim, int64_t in, int64_t kernel,
                                const Window &w, bool ceilMode) {
  if (ShapedType::isDynamic(in) || ShapedType::isDynamic(kernel))
    return kDyn;
  int64_t spatial = w.strides.size();
  int64_t padBegin = w.pads[dim], padEnd = w.pads[dim + spatial];
  int64_t span = w.dilations[dim] * (kernel - 1) + 1;
  int64_t room = in + padBegin + padEnd - span;
  if (room < 0)
    return inferError(loc, name, "window of size ", span,
                      " does not fit spatial dim ", dim, " of size ", in,
                      " (with padding ", padBegin, "+", padEnd, ")");
  int64_t stride = w.strides[dim];
  int64_t out = (ceilMode ? (room + stride - 1) / stride : room / stride) + 1;
  // With ceil_mode the last window must start inside the input or the
  // leading padding.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

LogicalResult inferAlongAxis(std::optional<Location> loc, StringRef name,
                             Type inputType, int64_t axis,
                             SmallVectorImpl<Type> &inferred) {
  auto input = cast<TensorType>(inputType);
  std::optional<int64_t> rank;
  if (input.hasRank())
    rank = input.getRank();
  if (failed(checkAxis(loc, name, "axis", axis, rank)))
    return failure();
  inferred.push_back(input);
  return success();
}

} // namespace infer
} // namespace bathy
