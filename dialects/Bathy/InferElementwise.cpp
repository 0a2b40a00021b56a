//===- InferElementwise.cpp - Type inference: elementwise and shape ops ---===//
//
// Broadcasting ops whose inference is not the family default (where), the
// verifiers of elementwise ops with attributes, and the ops that compute with
// shapes (shape, size, constant_of_shape, range).
//
//===----------------------------------------------------------------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Dialect/Bathy/ShapeRules.h"
#include "bathy/Dialect/Bathy/ShapeUtils.h"

#include <cmath>

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace bathy;
using infer::inferError;

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  return infer::inferBroadcast(loc, getOperationName(),
                               {adaptor.getCondition().getType(),
                                adaptor.getLhs().getType(),
                                adaptor.getRhs().getType()},
                               /*resultElementType=*/nullptr, inferred);
}

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", not \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult ClipOp::verify() {
  // min > max is valid ONNX: max(x, min) is applied first, then min(., max),
  // so every element becomes max (as onnxruntime computes it).
  if ((getMin() && std::isnan(getMin()->convertToDouble())) ||
      (getMax() && std::isnan(getMax()->convertToDouble())))
    return emitOpError("bounds must not be NaN");
  return success();
}

LogicalResult ShapeOp::inferReturnTypes(MLIRContext *context,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  Type i64 = IntegerType::get(context, 64);
  auto input = cast<TensorType>(adaptor.getInput().getType());
  if (!input.hasRank()) {
    inferred.push_back(RankedTensorType::get({ShapedType::kDynamic}, i64));
    return success();
  }
  int64_t rank = input.getRank();
  auto clamp = [rank](int64_t v) {
    if (v < 0)
      v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clamp(static_cast<int64_t>(adaptor.getStart()));
  int64_t end =
      adaptor.getEnd() ? clamp(static_cast<int64_t>(*adaptor.getEnd())) : rank;
  inferred.push_back(
      RankedTensorType::get({std::max<int64_t>(end - start, 0)}, i64));
  return success();
}

LogicalResult SizeOp::inferReturnTypes(MLIRContext *context,
                                       std::optional<Location>, Adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  inferred.push_back(RankedTensorType::get({}, IntegerType::get(context, 64)));
  return success();
}

/// Reads a constant 1-D i64 shape operand, if it is one.
static std::optional<SmallVector<int64_t>> getConstantShape(Value shape) {
  DenseIntElementsAttr attr;
  if (!matchPattern(shape, m_Constant(&attr)))
    return std::nullopt;
  return llvm::to_vector(
      llvm::map_range(attr.getValues<APInt>(),
                      [](const APInt &v) { return v.getSExtValue(); }));
}

/// The result shape for a shape operand whose values are unknown: its length
/// (when static) dims, all dynamic.
static std::optional<SmallVector<int64_t>> unknownShapeOfLength(Value shape) {
  auto type = dyn_cast<RankedTensorType>(shape.getType());
  if (!type || type.isDynamicDim(0))
    return std::nullopt;
  return SmallVector<int64_t>(type.getDimSize(0), ShapedType::kDynamic);
}

LogicalResult
ConstantOfShapeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &inferred) {
  ElementsAttr value = adaptor.getValue();
  if (value.getNumElements() != 1)
    return inferError(loc, getOperationName(),
                      "value must have exactly one element, not ",
                      value.getNumElements());
  Type element = value.getElementType();
  std::optional<SmallVector<int64_t>> shape =
      getConstantShape(adaptor.getShape());
  if (shape) {
    for (int64_t d : *shape)
      if (d < 0)
        return inferError(loc, getOperationName(), "shape has negative dim ",
                          d);
  } else {
    shape = unknownShapeOfLength(adaptor.getShape());
  }
  inferred.push_back(shape ? makeTensorType(ArrayRef<int64_t>(*shape), element)
                           : makeTensorType(std::nullopt, element));
  return success();
}

LogicalResult RangeOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  Value operands[] = {adaptor.getStart(), adaptor.getLimit(),
                      adaptor.getDelta()};
  Type element = cast<TensorType>(operands[0].getType()).getElementType();
  for (Value v : operands) {
    auto type = cast<TensorType>(v.getType());
    if (type.getElementType() != element)
      return inferError(loc, getOperationName(),
                        "start, limit and delta must have one element type");
    if (type.hasRank() && type.getRank() != 0)
      return inferError(loc, getOperationName(),
                        "start, limit and delta must be scalars (rank 0)");
  }
  int64_t count = ShapedType::kDynamic;
  Attribute attrs[3];
  if (matchPattern(operands[0], m_Constant(&attrs[0])) &&
      matchPattern(operands[1], m_Constant(&attrs[1])) &&
      matchPattern(operands[2], m_Constant(&attrs[2]))) {
    // The count the lowering computes at run time, computed the same way:
    // integers exactly (shape::rangeCount), floats in the element type's
    // own arithmetic (so a static size never differs from the run's).
    auto dense = [&](int i) { return dyn_cast<DenseElementsAttr>(attrs[i]); };
    if (dense(0) && dense(1) && dense(2)) {
      if (isa<FloatType>(element)) {
        APFloat start = *dense(0).getValues<APFloat>().begin();
        APFloat limit = *dense(1).getValues<APFloat>().begin();
        APFloat delta = *dense(2).getValues<APFloat>().begin();
        if (delta.isZero() || delta.isNaN())
          return inferError(loc, getOperationName(), "delta is zero (or NaN)");
        APFloat q = limit;
        q.subtract(start, APFloat::rmNearestTiesToEven);
        q.divide(delta, APFloat::rmNearestTiesToEven);
        q.roundToIntegral(APFloat::rmTowardPositive);
        double steps = q.convertToDouble();
        if (!(steps < 0x1p62))
          return inferError(loc, getOperationName(),
                            "the range has too many elements (or a NaN "
                            "bound)");
        count = steps > 0 ? static_cast<int64_t>(steps) : 0;
      } else if (isa<IntegerType>(element)) {
        auto value = [&](int i) {
          return (*dense(i).getValues<APInt>().begin()).getSExtValue();
        };
        if (value(2) == 0)
          return inferError(loc, getOperationName(), "delta is zero");
        StaticArith ops;
        count = shape::rangeCount(ops, value(0), value(1), value(2));
        if (count < 0)
          return inferError(loc, getOperationName(), "the range from ",
                            value(0), " to ", value(1),
                            " has too many elements");
      }
    }
  }
  inferred.push_back(RankedTensorType::get({count}, element));
  return success();
}
