//===- InferDataMovement.cpp - Type inference: data movement ops ----------===//
//
// transpose, reshape, dynamic_reshape, expand, squeeze, unsqueeze, concat,
// split, slice, gather, pad and trilu.
//
//===----------------------------------------------------------------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Dialect/Bathy/ShapeRules.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace bathy;
using infer::elementOf;
using infer::getConstantInts;
using infer::getPartialInts;
using infer::inferError;
using infer::PartialValues;
using infer::rankOf;

//===----------------------------------------------------------------------===//
// transpose
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type input = adaptor.getInput().getType();
  ArrayRef<int64_t> perm = adaptor.getPerm();
  std::optional<int64_t> rank = rankOf(input);
  if (rank && static_cast<int64_t>(perm.size()) != *rank)
    return inferError(loc, name, "perm has ", perm.size(),
                      " entries but the input has rank ", *rank);
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p])
      return inferError(loc, name, "perm is not a permutation of [0, ",
                        perm.size(), ")");
    seen[p] = true;
  }
  SmallVector<int64_t> shape(perm.size(), kDyn);
  if (std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input))
    shape = bathy::shape::transpose<int64_t>(*in, perm);
  inferred.push_back(RankedTensorType::get(shape, elementOf(input)));
  return success();
}

//===----------------------------------------------------------------------===//
// reshape and dynamic_reshape
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto input = cast<TensorType>(getInput().getType());
  RankedTensorType result = getResult().getType();
  if (input.getElementType() != result.getElementType())
    return emitOpError("result element type ")
           << result.getElementType() << " differs from the input's "
           << input.getElementType();
  int64_t dynamicDims = result.getNumDynamicDims();
  if (dynamicDims > 1)
    return emitOpError("result may have at most one dynamic dim, not ")
           << dynamicDims << "; use bathy.dynamic_reshape";
  if (!input.hasRank() || !input.hasStaticShape())
    return success();
  int64_t count = input.getNumElements();
  int64_t known = staticProduct(llvm::to_vector(llvm::make_filter_range(
      result.getShape(), [](int64_t d) { return !ShapedType::isDynamic(d); })));
  if (dynamicDims == 0 && known != count)
    return emitOpError("changes the element count from ")
           << count << " to " << known;
  if (dynamicDims == 1 && (known == 0 ? count != 0 : count % known != 0))
    return emitOpError("cannot reshape ")
           << count << " elements into " << shapeToString(result.getShape());
  return success();
}

LogicalResult
DynamicReshapeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                   Adaptor adaptor,
                                   SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type input = adaptor.getInput().getType();
  Type element = elementOf(input);
  std::optional<SmallVector<int64_t>> target =
      getConstantInts(adaptor.getShape());
  if (!target) {
    auto shapeType = dyn_cast<RankedTensorType>(adaptor.getShape().getType());
    if (!shapeType || shapeType.isDynamicDim(0)) {
      inferred.push_back(makeTensorType(std::nullopt, element));
      return success();
    }
    // Entries known to be positive are static dims of the result.
    SmallVector<int64_t> shape(shapeType.getDimSize(0), kDyn);
    if (std::optional<PartialValues> partial =
            getPartialInts(adaptor.getShape());
        partial && partial->size() == shape.size())
      for (auto [d, v] : llvm::zip(shape, *partial))
        if (v && *v > 0)
          d = *v;
    inferred.push_back(RankedTensorType::get(shape, element));
    return success();
  }
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input);
  bool allowZero = adaptor.getAllowzero();
  SmallVector<int64_t> shape;
  int64_t inferIndex = -1;
  bool hasZero = false;
  for (auto [i, v] : llvm::enumerate(*target)) {
    int64_t d = v;
    if (d == -1) {
      if (inferIndex >= 0)
        return inferError(loc, name, "shape has more than one -1");
      inferIndex = i;
      d = kDyn;
    } else if (d < -1) {
      return inferError(loc, name, "shape entry ", i, " is ", d,
                        "; only -1 may be negative");
    } else if (d == 0 && !allowZero) {
      if (in && static_cast<int64_t>(i) >= static_cast<int64_t>(in->size()))
        return inferError(loc, name, "shape entry ", i,
                          " is 0 (copy the input's dim) but the input has "
                          "rank ",
                          in->size());
      d = in ? (*in)[i] : kDyn;
    } else if (d == 0) {
      hasZero = true;
    }
    shape.push_back(d);
  }
  if (allowZero && hasZero && inferIndex >= 0)
    return inferError(loc, name,
                      "shape has both 0 and -1, which allowzero forbids");
  // Products of static sizes; kDyn for an unknown one, or one beyond int64.
  auto mul = [](int64_t a, int64_t b) {
    int64_t r;
    if (ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ||
        llvm::MulOverflow(a, b, r))
      return kDyn;
    return r;
  };
  if (in && inferIndex >= 0) {
    int64_t count = kDyn, known = kDyn;
    std::optional<int64_t> size = bathy::shape::reshapeInferredDim<int64_t>(
        *in, shape, inferIndex, 1, mul, [&](int64_t total, int64_t k) {
          count = total;
          known = k;
          if (ShapedType::isDynamic(total) || ShapedType::isDynamic(k))
            return std::optional<int64_t>(kDyn);
          if (k == 0 || total % k != 0)
            return std::optional<int64_t>();
          return std::optional<int64_t>(total / k);
        });
    if (!size)
      return inferError(loc, name, "cannot reshape ", count,
                        " elements into shape with -1 and other dims "
                        "multiplying to ",
                        known);
    shape[inferIndex] = *size;
  } else if (in) {
    int64_t count = 1, known = 1;
    for (int64_t d : *in)
      count = mul(count, d);
    for (int64_t d : shape)
      known = mul(known, d);
    if (!ShapedType::isDynamic(count) && !ShapedType::isDynamic(known) &&
        known != count)
      return inferError(loc, name, "changes the element count from ", count,
                        " to ", known);
  }
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

//===----------------------------------------------------------------------===//
// expand
//===----------------------------------------------------------------------===//

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Type input = adaptor.getInput().getType();
  Type element = elementOf(input);
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input);
  std::optional<SmallVector<int64_t>> target =
      getConstantInts(adaptor.getShape());
  if (target) {
    for (int64_t d : *target)
      if (d < 0)
        return inferError(loc, getOperationName(), "shape has negative dim ",
                          d);
    if (!in) {
      inferred.push_back(makeTensorType(std::nullopt, element));
      return success();
    }
    FailureOr<SmallVector<int64_t>> shape = broadcastShapes(*in, *target);
    if (failed(shape))
      return inferError(loc, getOperationName(), "input shape ",
                        shapeToString(*in), " cannot be expanded to ",
                        shapeToString(ArrayRef<int64_t>(*target)));
    inferred.push_back(RankedTensorType::get(*shape, element));
    return success();
  }
  auto shapeType = dyn_cast<RankedTensorType>(adaptor.getShape().getType());
  if (!in || !shapeType || shapeType.isDynamicDim(0)) {
    inferred.push_back(makeTensorType(std::nullopt, element));
    return success();
  }
  // Unknown target values: a static input dim other than 1 survives, and a
  // target entry known to be > 1 is the result's dim.
  int64_t rank = std::max<int64_t>(in->size(), shapeType.getDimSize(0));
  SmallVector<int64_t> shape(rank, kDyn);
  if (std::optional<PartialValues> partial = getPartialInts(adaptor.getShape());
      partial &&
      static_cast<int64_t>(partial->size()) == shapeType.getDimSize(0))
    for (size_t i = 0; i < partial->size(); ++i)
      if ((*partial)[i] && *(*partial)[i] > 1)
        shape[rank - partial->size() + i] = *(*partial)[i];
  for (size_t i = 0; i < in->size(); ++i) {
    int64_t d = (*in)[i];
    if (!ShapedType::isDynamic(d) && d != 1)
      shape[rank - in->size() + i] = d;
  }
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

//===----------------------------------------------------------------------===//
// squeeze and unsqueeze
//===----------------------------------------------------------------------===//

LogicalResult SqueezeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type input = adaptor.getInput().getType();
  ArrayRef<int64_t> axes = adaptor.getAxes();
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input);
  if (failed(infer::checkSortedAxes(loc, name, axes,
                                    in ? std::optional<int64_t>(in->size())
                                       : std::nullopt)))
    return failure();
  if (!in) {
    inferred.push_back(input);
    return success();
  }
  for (int64_t axis : axes)
    if (int64_t d = (*in)[axis]; !ShapedType::isDynamic(d) && d != 1)
      return inferError(loc, name, "cannot squeeze dim ", axis, " of size ", d);
  SmallVector<int64_t> shape = bathy::shape::squeeze<int64_t>(*in, axes);
  inferred.push_back(RankedTensorType::get(shape, elementOf(input)));
  return success();
}

LogicalResult UnsqueezeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type input = adaptor.getInput().getType();
  ArrayRef<int64_t> axes = adaptor.getAxes();
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input);
  std::optional<int64_t> resultRank;
  if (in)
    resultRank = in->size() + axes.size();
  if (failed(infer::checkSortedAxes(loc, name, axes, resultRank)))
    return failure();
  if (!in) {
    inferred.push_back(input);
    return success();
  }
  SmallVector<int64_t> shape = bathy::shape::unsqueeze<int64_t>(*in, axes, 1);
  inferred.push_back(RankedTensorType::get(shape, elementOf(input)));
  return success();
}

//===----------------------------------------------------------------------===//
// concat and split
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return inferError(loc, name, "needs at least one input");
  Type element = elementOf(inputs.front().getType());
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  SmallVector<ArrayRef<int64_t>> shapes;
  // The sizes off the axis the inputs so far agree on (for the check).
  SmallVector<int64_t> known;
  bool anyUnranked = false;
  for (auto [i, v] : llvm::enumerate(inputs)) {
    if (elementOf(v.getType()) != element)
      return inferError(loc, name, "input ", i, " has element type ",
                        elementOf(v.getType()), " but input 0 has ", element);
    std::optional<ArrayRef<int64_t>> s = getShapeIfRanked(v.getType());
    if (!s) {
      anyUnranked = true;
      continue;
    }
    if (failed(infer::checkAxis(loc, name, "axis", axis,
                                static_cast<int64_t>(s->size()))))
      return failure();
    if (!shapes.empty() && s->size() != shapes.front().size())
      return inferError(loc, name, "input ", i, " has rank ", s->size(),
                        " but the inputs before it have rank ",
                        shapes.front().size());
    if (shapes.empty())
      known.assign(s->begin(), s->end());
    for (auto [d, b] : llvm::enumerate(*s)) {
      int64_t &a = known[d];
      if (static_cast<int64_t>(d) == axis || ShapedType::isDynamic(b))
        continue;
      if (!ShapedType::isDynamic(a) && a != b)
        return inferError(loc, name, "input ", i, " has size ", b, " in dim ",
                          d, " but the inputs before it have ", a);
      a = b;
    }
    shapes.push_back(*s);
  }
  if (shapes.empty()) {
    inferred.push_back(makeTensorType(std::nullopt, element));
    return success();
  }
  SmallVector<int64_t> shape = bathy::shape::concat<int64_t>(
      shapes, axis, 0,
      [](int64_t a, int64_t b) { return ShapedType::isDynamic(a) ? b : a; },
      [](int64_t a, int64_t b) {
        return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ? kDyn
                                                                    : a + b;
      });
  if (anyUnranked)
    shape[axis] = kDyn;
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type input = adaptor.getInput().getType();
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  ArrayRef<int64_t> sizes = adaptor.getSizes();
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input);
  if (failed(infer::checkAxis(loc, name, "axis", axis,
                              in ? std::optional<int64_t>(in->size())
                                 : std::nullopt)))
    return failure();
  if (sizes.empty())
    return inferError(loc, name, "sizes must not be empty");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      return inferError(loc, name, "sizes must be >= 0, got ", s);
    total += s;
  }
  if (in && !ShapedType::isDynamic((*in)[axis]) && (*in)[axis] != total)
    return inferError(loc, name, "sizes add up to ", total, " but dim ", axis,
                      " has size ", (*in)[axis]);
  for (int64_t s : sizes) {
    if (!in) {
      inferred.push_back(input);
      continue;
    }
    SmallVector<int64_t> shape(*in);
    shape[axis] = s;
    inferred.push_back(RankedTensorType::get(shape, elementOf(input)));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// slice and gather
//===----------------------------------------------------------------------===//

/// Shared by slice and dynamic_slice: checks axes and steps, and infers the
/// sliced dims where the bounds are known.
static LogicalResult inferSlice(std::optional<Location> loc, StringRef name,
                                Type input, ArrayRef<int64_t> axes,
                                ArrayRef<int64_t> steps,
                                std::optional<SmallVector<int64_t>> starts,
                                std::optional<SmallVector<int64_t>> ends,
                                SmallVectorImpl<Type> &inferred) {
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input);
  std::optional<int64_t> rank;
  if (in)
    rank = in->size();
  llvm::SmallSet<int64_t, 4> seen;
  for (auto [axis, step] : llvm::zip(axes, steps)) {
    if (failed(infer::checkAxis(loc, name, "axis", axis, rank)))
      return failure();
    if (!seen.insert(axis).second)
      return inferError(loc, name, "axis ", axis, " appears twice");
    if (step == 0)
      return inferError(loc, name, "step for axis ", axis, " is zero");
  }
  if (!in) {
    inferred.push_back(input);
    return success();
  }
  SmallVector<int64_t> shape(*in);
  StaticArith ops;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t dim = shape[axes[i]];
    shape[axes[i]] = starts && ends && !ShapedType::isDynamic(dim)
                         ? bathy::shape::sliceAxis(ops, dim, (*starts)[i],
                                            (*ends)[i], steps[i])
                               .count
                         : kDyn;
  }
  inferred.push_back(RankedTensorType::get(shape, elementOf(input)));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  ArrayRef<int64_t> axes = adaptor.getAxes(), starts = adaptor.getStarts(),
                    ends = adaptor.getEnds(), steps = adaptor.getSteps();
  if (starts.size() != axes.size() || ends.size() != axes.size() ||
      steps.size() != axes.size())
    return inferError(loc, name,
                      "axes, starts, ends and steps must have the same length");
  return inferSlice(loc, name, adaptor.getInput().getType(), axes, steps,
                    SmallVector<int64_t>(starts), SmallVector<int64_t>(ends),
                    inferred);
}

LogicalResult
DynamicSliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                 Adaptor adaptor,
                                 SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  ArrayRef<int64_t> axes = adaptor.getAxes(), steps = adaptor.getSteps();
  if (steps.size() != axes.size())
    return inferError(loc, name, "axes and steps must have the same length");
  for (Value bound : {adaptor.getStarts(), adaptor.getEnds()}) {
    auto type = cast<RankedTensorType>(bound.getType());
    if (!type.isDynamicDim(0) &&
        type.getDimSize(0) != static_cast<int64_t>(axes.size()))
      return inferError(loc, name, "starts and ends need one entry per axis (",
                        axes.size(), "), got ", type.getDimSize(0));
  }
  return inferSlice(loc, name, adaptor.getInput().getType(), axes, steps,
                    getConstantInts(adaptor.getStarts()),
                    getConstantInts(adaptor.getEnds()), inferred);
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type data = adaptor.getData().getType();
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  std::optional<ArrayRef<int64_t>> d = getShapeIfRanked(data);
  std::optional<ArrayRef<int64_t>> idx =
      getShapeIfRanked(adaptor.getIndices().getType());
  if (d && d->empty())
    return inferError(loc, name, "data must have rank >= 1");
  if (failed(infer::checkAxis(loc, name, "axis", axis,
                              d ? std::optional<int64_t>(d->size())
                                : std::nullopt)))
    return failure();
  if (d && !ShapedType::isDynamic((*d)[axis]))
    if (std::optional<SmallVector<int64_t>> values =
            getConstantInts(adaptor.getIndices()))
      for (int64_t v : *values)
        if (v < -(*d)[axis] || v >= (*d)[axis])
          return inferError(loc, name, "index ", v, " is out of range for dim ",
                            axis, " of size ", (*d)[axis]);
  if (!d || !idx) {
    inferred.push_back(makeTensorType(std::nullopt, elementOf(data)));
    return success();
  }
  SmallVector<int64_t> shape = bathy::shape::gather<int64_t>(*d, *idx, axis);
  inferred.push_back(RankedTensorType::get(shape, elementOf(data)));
  return success();
}

LogicalResult
GatherElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                   Adaptor adaptor,
                                   SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  Type data = adaptor.getData().getType();
  Type indices = adaptor.getIndices().getType();
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  std::optional<ArrayRef<int64_t>> d = getShapeIfRanked(data);
  std::optional<ArrayRef<int64_t>> idx = getShapeIfRanked(indices);
  if (d && d->empty())
    return inferError(loc, name, "data must have rank >= 1");
  if (failed(infer::checkAxis(loc, name, "axis", axis,
                              d ? std::optional<int64_t>(d->size())
                                : std::nullopt)))
    return failure();
  if (d && idx) {
    if (d->size() != idx->size())
      return inferError(loc, name, "indices must have the rank of data (",
                        d->size(), "), got ", idx->size());
    for (size_t i = 0; i < d->size(); ++i)
      if (static_cast<int64_t>(i) != axis && !ShapedType::isDynamic((*d)[i]) &&
          !ShapedType::isDynamic((*idx)[i]) && (*idx)[i] > (*d)[i])
        return inferError(loc, name, "indices dim ", i, " (", (*idx)[i],
                          ") exceeds data dim ", i, " (", (*d)[i], ")");
  }
  inferred.push_back(makeTensorType(idx, elementOf(data)));
  return success();
}

//===----------------------------------------------------------------------===//
// pad and trilu
//===----------------------------------------------------------------------===//

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  StringRef name = getOperationName();
  StringRef mode = adaptor.getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge" &&
      mode != "wrap")
    return inferError(loc, name,
                      "mode must be constant, reflect, edge or wrap, not \"",
                      mode, "\"");
  Type input = adaptor.getInput().getType();
  ArrayRef<int64_t> pads = adaptor.getPads();
  std::optional<ArrayRef<int64_t>> in = getShapeIfRanked(input);
  if (!in) {
    inferred.push_back(input);
    return success();
  }
  int64_t rank = in->size();
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    return inferError(loc, name, "pads has ", pads.size(),
                      " entries but 2 x rank = ", 2 * rank, " are needed");
  SmallVector<int64_t> shape(*in);
  for (int64_t i = 0; i < rank; ++i) {
    if (ShapedType::isDynamic(shape[i]))
      continue;
    shape[i] += pads[i] + pads[i + rank];
    if (shape[i] < 0)
      return inferError(loc, name, "padding makes dim ", i, " negative");
  }
  inferred.push_back(RankedTensorType::get(shape, elementOf(input)));
  return success();
}

LogicalResult TriluOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  Type input = adaptor.getInput().getType();
  std::optional<int64_t> rank = rankOf(input);
  if (rank && *rank < 2)
    return inferError(loc, getOperationName(),
                      "input must have rank >= 2, got ", *rank);
  inferred.push_back(input);
  return success();
}
