//===- InferNN.cpp - Type inference: matmul, conv, pooling, norms ---------===//
#include "bathy/Dialect/Bathy/BathyOps.h"

#include <cmath>

using namespace mlir;
using namespace bathy;
using infer::inferError;


/// Fails unless every type in `types` has `element` as element type.
static LogicalResult checkSameElementType(std::optional<Location> loc,
                                          StringRef opName,
                                          ArrayRef<Type> types) {
  Type element = cast<TensorType>(types.front()).getElementType();
  for (Type t : types.drop_front())
    if (cast<TensorType>(t).getElementType() != element)
      return inferError(loc, opName, "operands have different element types (",
                        element, " and ", cast<TensorType>(t).getElementType(),
                        ")");
  return success();
}

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type lhsType = adaptor.getLhs().getType(),
       rhsType = adaptor.getRhs().getType();
  if (failed(checkSameElementType(loc, name, {lhsType, rhsType})))
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
  if (!lhsVector)
    shape.push_back(lhs[lhs.size() - 2]);
  if (!rhsVector)
    shape.push_back(rhs.back());
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

//===----------------------------------------------------------------------===//
// Windowed ops: conv and pooling
//===----------------------------------------------------------------------===//

using infer::getWindow;
using infer::Window;

/// Output size of one spatial dim, kDyn if the input or kernel is dynamic.
static FailureOr<int64_t> windowedSize(std::optional<Location> loc,
                                       StringRef name, int64_t dim, int64_t in,
                                       int64_t kernel, const Window &w,
                                       bool ceilMode) {
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

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  SmallVector<Type> types = {adaptor.getInput().getType(),
                             adaptor.getWeight().getType()};
  if (adaptor.getBias())
    types.push_back(adaptor.getBias().getType());
  if (failed(checkSameElementType(loc, name, types)))
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
    FailureOr<int64_t> size =
        windowedSize(loc, name, i, (*in)[i + 2], (*wt)[i + 2], *w, false);
    if (failed(size))
      return failure();
    shape.push_back(*size);
  }
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

/// Shared by max_pool and avg_pool.
template <typename Adaptor>
static LogicalResult inferPool(std::optional<Location> loc, StringRef name,
                               Adaptor adaptor,
                               SmallVectorImpl<Type> &inferred) {
  auto input = cast<TensorType>(adaptor.getInput().getType());
  ArrayRef<int64_t> kernel = adaptor.getKernelShape();
  if (!input.hasRank()) {
    inferred.push_back(input);
    return success();
  }
  if (input.getRank() < 3)
    return inferError(loc, name,
                      "input must have rank >= 3 (N, C, spatial...), got ",
                      input.getRank());
  int64_t spatial = input.getRank() - 2;
  if (static_cast<int64_t>(kernel.size()) != spatial)
    return inferError(loc, name, "kernel_shape has ", kernel.size(),
                      " entries but the input has ", spatial, " spatial dims");
  for (int64_t k : kernel)
    if (k < 1)
      return inferError(loc, name, "kernel_shape must be >= 1, got ", k);
  FailureOr<Window> w = getWindow(loc, name, spatial, adaptor.getStrides(),
                                  adaptor.getPads(), adaptor.getDilations());
  if (failed(w))
    return failure();
  SmallVector<int64_t> shape(input.getShape().take_front(2));
  for (int64_t i = 0; i < spatial; ++i) {
    FailureOr<int64_t> size =
        windowedSize(loc, name, i, input.getDimSize(i + 2), kernel[i], *w,
                     adaptor.getCeilMode());
    if (failed(size))
      return failure();
    shape.push_back(*size);
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, getOperationName(), adaptor, inferred);
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, getOperationName(), adaptor, inferred);
}

static LogicalResult inferGlobalPool(std::optional<Location> loc,
                                     StringRef name, Type inputType,
                                     SmallVectorImpl<Type> &inferred) {
  auto input = cast<TensorType>(inputType);
  if (!input.hasRank()) {
    inferred.push_back(input);
    return success();
  }
  if (input.getRank() < 3)
    return inferError(loc, name,
                      "input must have rank >= 3 (N, C, spatial...), got ",
                      input.getRank());
  SmallVector<int64_t> shape(input.getShape());
  std::fill(shape.begin() + 2, shape.end(), 1);
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult
GlobalAvgPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  return inferGlobalPool(loc, getOperationName(), adaptor.getInput().getType(),
                         inferred);
}

LogicalResult
GlobalMaxPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  return inferGlobalPool(loc, getOperationName(), adaptor.getInput().getType(),
                         inferred);
}

//===----------------------------------------------------------------------===//
// Reductions along one axis and normalization
//===----------------------------------------------------------------------===//

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

/// Softmax-like ops keep the input type and check the axis.
static LogicalResult inferAlongAxis(std::optional<Location> loc, StringRef name,
                                    Type inputType, int64_t axis,
                                    SmallVectorImpl<Type> &inferred) {
  auto input = cast<TensorType>(inputType);
  std::optional<int64_t> rank;
  if (input.hasRank())
    rank = input.getRank();
  if (failed(infer::checkAxis(loc, name, "axis", axis, rank)))
    return failure();
  inferred.push_back(input);
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferAlongAxis(loc, getOperationName(), adaptor.getInput().getType(),
                        static_cast<int64_t>(adaptor.getAxis()), inferred);
}

LogicalResult LogSoftmaxOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  return inferAlongAxis(loc, getOperationName(), adaptor.getInput().getType(),
                        static_cast<int64_t>(adaptor.getAxis()), inferred);
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

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

/// Merges two sizes that must agree; false if both are static and differ.
static bool mergeEqual(int64_t &into, int64_t other) {
  if (ShapedType::isDynamic(into)) {
    into = other;
    return true;
  }
  return ShapedType::isDynamic(other) || into == other;
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  SmallVector<Type, 4> types = {adaptor.getQ().getType(),
                                adaptor.getK().getType(),
                                adaptor.getV().getType()};
  if (adaptor.getMask())
    types.push_back(adaptor.getMask().getType());
  if (failed(checkSameElementType(loc, name, types)))
    return failure();
  Type element = cast<TensorType>(types[0]).getElementType();
  std::optional<ArrayRef<int64_t>> q = getShapeIfRanked(types[0]),
                                   k = getShapeIfRanked(types[1]),
                                   v = getShapeIfRanked(types[2]);
  if (!q || !k || !v) {
    inferred.push_back(makeTensorType(std::nullopt, element));
    return success();
  }
  int64_t rank = q->size();
  if (rank < 3 || static_cast<int64_t>(k->size()) != rank ||
      static_cast<int64_t>(v->size()) != rank)
    return inferError(loc, name,
                      "q, k and v must have the same rank >= 3, got ",
                      shapeToString(*q), ", ", shapeToString(*k), " and ",
                      shapeToString(*v));
  // Leading dims broadcast (the mask's too, below).
  auto leading = [&](ArrayRef<int64_t> s) { return s.take_front(rank - 3); };
  FailureOr<SmallVector<int64_t>> qk =
      broadcastShapes(leading(*q), leading(*k));
  FailureOr<SmallVector<int64_t>> qkv = failure();
  if (succeeded(qk))
    qkv = broadcastShapes(*qk, leading(*v));
  if (failed(qkv))
    return inferError(loc, name, "leading dims do not broadcast: q ",
                      shapeToString(*q), ", k ", shapeToString(*k), ", v ",
                      shapeToString(*v));
  SmallVector<int64_t> shape = *qkv;
  int64_t hq = (*q)[rank - 3], hkv = (*k)[rank - 3];
  if (!mergeEqual(hkv, (*v)[rank - 3]))
    return inferError(loc, name, "k has ", (*k)[rank - 3], " heads but v has ",
                      (*v)[rank - 3]);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 || hq % hkv != 0))
    return inferError(loc, name, "q has ", hq,
                      " heads, not a multiple of the ", hkv,
                      " key/value heads");
  int64_t depth = (*q)[rank - 1];
  if (!mergeEqual(depth, (*k)[rank - 1]))
    return inferError(loc, name, "q and k head sizes differ (", (*q)[rank - 1],
                      " and ", (*k)[rank - 1], ")");
  int64_t keys = (*k)[rank - 2];
  if (!mergeEqual(keys, (*v)[rank - 2]))
    return inferError(loc, name, "k has ", (*k)[rank - 2],
                      " positions but v has ", (*v)[rank - 2]);
  if (adaptor.getMask()) {
    if (std::optional<ArrayRef<int64_t>> m = getShapeIfRanked(types[3])) {
      SmallVector<int64_t> scores(shape);
      scores.append({hq, (*q)[rank - 2], keys});
      int64_t mrank = m->size();
      if (mrank > rank)
        return inferError(loc, name, "mask ", shapeToString(*m),
                          " has a higher rank than the scores ",
                          shapeToString(scores));
      // Its leading dims join the broadcast; head, query and key dims
      // broadcast up to the scores' only.
      int64_t skip = rank - mrank;
      int64_t mleading = std::max<int64_t>(0, mrank - 3);
      FailureOr<SmallVector<int64_t>> all =
          broadcastShapes(shape, m->take_front(mleading));
      if (failed(all))
        return inferError(loc, name, "mask ", shapeToString(*m),
                          " does not broadcast to the scores ",
                          shapeToString(scores));
      shape = *all;
      for (int64_t i = mleading; i < mrank; ++i) {
        int64_t size = (*m)[i], target = scores[skip + i];
        if (size != 1 && !ShapedType::isDynamic(size) &&
            !ShapedType::isDynamic(target) && size != target)
          return inferError(loc, name, "mask ", shapeToString(*m),
                            " does not broadcast to the scores ",
                            shapeToString(scores));
      }
    }
  }
  shape.append({hq, (*q)[rank - 2], (*v)[rank - 1]});
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

LogicalResult AttentionOp::verify() {
  StringRef causal = getCausal();
  if (causal != "none" && causal != "upper_left" && causal != "lower_right")
    return emitOpError("causal must be \"none\", \"upper_left\" or "
                       "\"lower_right\", not \"")
           << causal << "\"";
  if (!std::isfinite(getScale().convertToFloat()))
    return emitOpError("scale must be finite");
  if (getMaskedScore() && !getMask())
    return emitOpError("masked_score needs a mask");
  float softcap = getSoftcap().convertToFloat();
  if (!(softcap >= 0.0f) || !std::isfinite(softcap))
    return emitOpError("softcap must be finite and >= 0 (0: none)");
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
