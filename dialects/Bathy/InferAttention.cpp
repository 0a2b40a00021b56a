//===- InferAttention.cpp - Type inference: attention ---------------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"

#include <cmath>

using namespace mlir;
using namespace bathy;
using infer::inferError;


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
  if (failed(infer::checkSameElementType(loc, name, types)))
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
    return inferError(
        loc, name, "q, k and v must have the same rank >= 3, got ",
        shapeToString(*q), ", ", shapeToString(*k), " and ", shapeToString(*v));
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
    return inferError(loc, name, "q has ", hq, " heads, not a multiple of the ",
                      hkv, " key/value heads");
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
