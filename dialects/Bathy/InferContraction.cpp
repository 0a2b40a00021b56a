//===- InferContraction.cpp - Type inference: matmul and conv -------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Dialect/Bathy/ShapeRules.h"

using namespace mlir;
using namespace bathy;
using infer::getWindow;
using infer::inferError;
using infer::Window;

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type lhsType = adaptor.getLhs().getType(),
       rhsType = adaptor.getRhs().getType();
  if (failed(infer::checkSameElementType(loc, name, {lhsType, rhsType})))
    return failure();
  Type element = cast<TensorType>(lhsType).getElementType();
  std::optional<ArrayRef<int64_t>> l = getShapeIfRanked(lhsType);
  std::optional<ArrayRef<int64_t>> r = getShapeIfRanked(rhsType);
  if ((l && l->empty()) || (r && r->empty()))
    return inferError(loc, name, "operands must have rank >= 1");
  if (!l || !r) {
    inferred.push_back(makeTensorType(std::nullopt, element));
    return success();
  }
  SmallVector<int64_t> lhs(*l), rhs(*r);
  bool lhsVector = lhs.size() == 1, rhsVector = rhs.size() == 1;
  if (lhsVector)
    lhs.insert(lhs.begin(), 1);
  if (rhsVector)
    rhs.push_back(1);
  int64_t kl = lhs.back(), kr = rhs[rhs.size() - 2];
  if (!ShapedType::isDynamic(kl) && !ShapedType::isDynamic(kr) && kl != kr)
    return inferError(loc, name, "contracting dims differ: lhs has ", kl,
                      " columns but rhs has ", kr, " rows");
  FailureOr<SmallVector<int64_t>> batch = broadcastShapes(
      ArrayRef<int64_t>(lhs).drop_back(2), ArrayRef<int64_t>(rhs).drop_back(2));
  if (failed(batch))
    return inferError(loc, name, "batch dims ",
                      shapeToString(ArrayRef<int64_t>(lhs).drop_back(2)),
                      " and ",
                      shapeToString(ArrayRef<int64_t>(rhs).drop_back(2)),
                      " are not broadcast-compatible");
  SmallVector<int64_t> shape = *batch;
  bathy::shape::appendMatmulDims<int64_t>(shape, *l, *r);
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  SmallVector<Type> types = {adaptor.getInput().getType(),
                             adaptor.getWeight().getType()};
  if (adaptor.getBias())
    types.push_back(adaptor.getBias().getType());
  if (failed(infer::checkSameElementType(loc, name, types)))
    return failure();
  Type element = cast<TensorType>(types[0]).getElementType();
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(types[0]);
  std::optional<ArrayRef<int64_t>> wt = getShapeIfRanked(types[1]);
  int64_t group = static_cast<int64_t>(adaptor.getGroup());
  if (group < 1)
    return inferError(loc, name, "group must be >= 1, got ", group);
  if (!in || !wt) {
    inferred.push_back(makeTensorType(std::nullopt, element));
    return success();
  }
  if (in->size() < 3)
    return inferError(loc, name,
                      "input must have rank >= 3 (N, C, spatial...), got ",
                      in->size());
  if (wt->size() != in->size())
    return inferError(loc, name, "weight has rank ", wt->size(),
                      " but input has rank ", in->size());
  int64_t spatial = in->size() - 2;
  FailureOr<Window> w = getWindow(loc, name, spatial, adaptor.getStrides(),
                                  adaptor.getPads(), adaptor.getDilations());
  if (failed(w))
    return failure();
  int64_t c = (*in)[1], cw = (*wt)[1], m = (*wt)[0];
  if (!ShapedType::isDynamic(c) && !ShapedType::isDynamic(cw) &&
      c != cw * group)
    return inferError(loc, name, "input has ", c,
                      " channels but weight expects ", cw * group, " (", cw,
                      " per group x ", group, " groups)");
  if (!ShapedType::isDynamic(m) && m % group != 0)
    return inferError(loc, name, "output channels ", m,
                      " are not divisible by group ", group);
  if (adaptor.getBias()) {
    std::optional<ArrayRef<int64_t>> b = getShapeIfRanked(types[2]);
    if (b && (b->size() != 1 || (!ShapedType::isDynamic((*b)[0]) &&
                                 !ShapedType::isDynamic(m) && (*b)[0] != m)))
      return inferError(loc, name, "bias must have shape [", m, "], got ",
                        shapeToString(*b));
  }
  SmallVector<int64_t> shape = {(*in)[0], m};
  for (int64_t i = 0; i < spatial; ++i) {
    FailureOr<int64_t> size = infer::windowedSize(loc, name, i, (*in)[i + 2],
                                                  (*wt)[i + 2], *w, false);
    if (failed(size))
      return failure();
    shape.push_back(*size);
  }
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}
