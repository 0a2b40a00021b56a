//===- InferReduction.cpp - Type inference: reductions and norms ----------===//
#include "bathy/Dialect/Bathy/BathyOps.h"

using namespace mlir;
using namespace bathy;
using infer::inferAlongAxis;
using infer::inferError;

template <typename Adaptor>
static LogicalResult inferArgReduction(MLIRContext *context,
                                       std::optional<Location> loc,
                                       StringRef name, Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  return infer::inferReduction(loc, name, adaptor.getInput().getType(), {axis},
                               adaptor.getKeepdims(),
                               IntegerType::get(context, 64), inferred);
}

LogicalResult ArgMaxOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return inferArgReduction(context, loc, getOperationName(), adaptor, inferred);
}

LogicalResult ArgMinOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return inferArgReduction(context, loc, getOperationName(), adaptor, inferred);
}

/// Checks that a norm parameter broadcasts against the normalized dims
/// (input dims from `axis` on).
static LogicalResult checkNormParam(std::optional<Location> loc, StringRef name,
                                    StringRef what, Type paramType,
                                    Type inputType, int64_t axis) {
  if (cast<TensorType>(paramType).getElementType() !=
      cast<TensorType>(inputType).getElementType())
    return inferError(loc, name, what, " must have the input's element type");
  std::optional<ArrayRef<int64_t>> param = getShapeIfRanked(paramType);
  std::optional<ArrayRef<int64_t>> input = getShapeIfRanked(inputType);
  if (!param || !input)
    return success();
  ArrayRef<int64_t> normalized = input->drop_front(axis);
  if (param->size() > normalized.size())
    return inferError(loc, name, what, " has rank ", param->size(),
                      " but only ", normalized.size(), " dims are normalized");
  ArrayRef<int64_t> tail = normalized.take_back(param->size());
  for (auto [p, n] : llvm::zip(*param, tail))
    if (!ShapedType::isDynamic(p) && !ShapedType::isDynamic(n) && p != 1 &&
        p != n)
      return inferError(loc, name, what, " shape ", shapeToString(*param),
                        " does not broadcast to the normalized dims ",
                        shapeToString(normalized));
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type input = adaptor.getInput().getType();
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  if (failed(inferAlongAxis(loc, name, input, axis, inferred)) ||
      failed(checkNormParam(loc, name, "scale", adaptor.getScale().getType(),
                            input, axis)) ||
      (adaptor.getBias() &&
       failed(checkNormParam(loc, name, "bias", adaptor.getBias().getType(),
                             input, axis))))
    return failure();
  return success();
}

LogicalResult RmsNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type input = adaptor.getInput().getType();
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  if (failed(inferAlongAxis(loc, name, input, axis, inferred)) ||
      failed(checkNormParam(loc, name, "scale", adaptor.getScale().getType(),
                            input, axis)))
    return failure();
  return success();
}

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  auto input = cast<TensorType>(adaptor.getInput().getType());
  if (input.hasRank() && input.getRank() < 2)
    return inferError(loc, name, "input must have rank >= 2 (N, C, ...), got ",
                      input.getRank());
  int64_t channels = input.hasRank() ? input.getDimSize(1) : kDyn;
  std::pair<StringRef, Value> params[] = {{"scale", adaptor.getScale()},
                                          {"bias", adaptor.getBias()},
                                          {"mean", adaptor.getMean()},
                                          {"variance", adaptor.getVariance()}};
  for (auto [what, value] : params) {
    auto type = cast<TensorType>(value.getType());
    if (type.getElementType() != input.getElementType())
      return inferError(loc, name, what, " must have the input's element type");
    if (!type.hasRank())
      continue;
    if (type.getRank() != 1 ||
        (!ShapedType::isDynamic(channels) && !type.isDynamicDim(0) &&
         type.getDimSize(0) != channels))
      return inferError(loc, name, what, " must have shape [",
                        shapeToString(ArrayRef<int64_t>{channels}), "], got ",
                        shapeToString(type.getShape()));
  }
  inferred.push_back(input);
  return success();
}
