//===- DataMovement.cpp - ONNX constants, shape ops and data movement -----===//
#include "OpRegistry.h"

using namespace mlir;

namespace bathy::onnx_import {
namespace {

LogicalResult constant(NodeContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto scalarOr1D = [&](Type element, ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, element);
  };
  ElementsAttr value;
  if (ctx.hasAttr("value")) {
    FailureOr<ElementsAttr> t = ctx.attrTensor("value");
    if (failed(t))
      return failure();
    value = *t;
  } else if (ctx.hasAttr("value_float")) {
    FailureOr<float> f = ctx.attrFloat("value_float", std::nullopt);
    if (failed(f))
      return failure();
    value = DenseElementsAttr::get(scalarOr1D(b.getF32Type(), {}), *f);
  } else if (ctx.hasAttr("value_int")) {
    FailureOr<int64_t> i = ctx.attrInt("value_int", std::nullopt);
    if (failed(i))
      return failure();
    value = DenseElementsAttr::get(scalarOr1D(b.getI64Type(), {}), *i);
  } else if (ctx.hasAttr("value_floats")) {
    FailureOr<SmallVector<float>> f =
        ctx.attrFloats("value_floats", std::nullopt);
    if (failed(f))
      return failure();
    value = DenseElementsAttr::get(
        scalarOr1D(b.getF32Type(), {(int64_t)f->size()}), ArrayRef<float>(*f));
  } else if (ctx.hasAttr("value_ints")) {
    FailureOr<SmallVector<int64_t>> i =
        ctx.attrInts("value_ints", std::nullopt);
    if (failed(i))
      return failure();
    value =
        DenseElementsAttr::get(scalarOr1D(b.getI64Type(), {(int64_t)i->size()}),
                               ArrayRef<int64_t>(*i));
  } else {
    return ctx.emitError() << "needs a value, value_float(s) or value_int(s) "
                              "attribute (sparse and string constants are "
                              "not supported)";
  }
  return ctx.setResults(ConstantOp::create(b, ctx.loc(), value).getResult());
}

LogicalResult shape(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  FailureOr<int64_t> start = ctx.attrInt("start", 0);
  if (failed(x) || failed(start))
    return failure();
  IntegerAttr end;
  if (ctx.hasAttr("end")) {
    FailureOr<int64_t> e = ctx.attrInt("end", std::nullopt);
    if (failed(e))
      return failure();
    end = ctx.builder().getI64IntegerAttr(*e);
  }
  FailureOr<Value> y =
      ctx.build<ShapeOp>(*x, ctx.builder().getI64IntegerAttr(*start), end);
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult size(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  if (failed(x))
    return failure();
  FailureOr<Value> y = ctx.build<SizeOp>(*x);
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult constantOfShape(NodeContext &ctx) {
  FailureOr<Value> s = ctx.requiredInput(0, "input");
  if (failed(s))
    return failure();
  ElementsAttr value;
  if (ctx.hasAttr("value")) {
    FailureOr<ElementsAttr> t = ctx.attrTensor("value");
    if (failed(t))
      return failure();
    value = *t;
  } else {
    value = DenseElementsAttr::get(
        RankedTensorType::get({1}, ctx.builder().getF32Type()), 0.0f);
  }
  FailureOr<Value> y = ctx.build<ConstantOfShapeOp>(*s, value);
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult range(NodeContext &ctx) {
  FailureOr<Value> start = ctx.requiredInput(0, "start");
  FailureOr<Value> limit = ctx.requiredInput(1, "limit");
  FailureOr<Value> delta = ctx.requiredInput(2, "delta");
  if (failed(start) || failed(limit) || failed(delta))
    return failure();
  FailureOr<Value> y = ctx.build<RangeOp>(*start, *limit, *delta);
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Emits bathy.reshape when `type` has at most one dynamic dim.
bool isStaticReshapeTarget(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  return ranked && ranked.getNumDynamicDims() <= 1;
}

LogicalResult reshape(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  FailureOr<Value> s = ctx.requiredInput(1, "shape");
  FailureOr<int64_t> allowZero = ctx.attrInt("allowzero", 0);
  if (failed(x) || failed(s) || failed(allowZero))
    return failure();
  FailureOr<Value> y = ctx.build<DynamicReshapeOp>(
      *x, *s, ctx.builder().getBoolAttr(*allowZero != 0));
  if (failed(y))
    return failure();
  auto op = y->getDefiningOp<DynamicReshapeOp>();
  if (op && ctx.constantInts(1) && isStaticReshapeTarget(y->getType())) {
    Value r = ctx.buildTyped<ReshapeOp>(y->getType(), *x);
    op.erase();
    return ctx.setResults(r);
  }
  return ctx.setResults(*y);
}

LogicalResult flatten(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<int64_t> axisAttr = ctx.attrInt("axis", 1);
  if (failed(x) || failed(axisAttr))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  int64_t axis = *axisAttr < 0 ? *axisAttr + *rank : *axisAttr;
  if (axis < 0 || axis > *rank)
    return ctx.emitError() << "axis " << *axisAttr
                           << " is out of range for rank " << *rank;
  auto type = cast<RankedTensorType>(x->getType());
  int64_t outer = staticProduct(type.getShape().take_front(axis));
  int64_t inner = staticProduct(type.getShape().drop_front(axis));
  auto resultType =
      RankedTensorType::get({outer, inner}, type.getElementType());
  if (isStaticReshapeTarget(resultType))
    return ctx.setResults(ctx.buildTyped<ReshapeOp>(resultType, *x));
  // Both halves dynamic: compute the target shape at run time.
  OpBuilder &b = ctx.builder();
  SmallVector<Value> parts;
  for (auto [start, end] : {std::pair<int64_t, int64_t>{0, axis},
                            std::pair<int64_t, int64_t>{axis, *rank}}) {
    FailureOr<Value> dims = ctx.build<ShapeOp>(*x, b.getI64IntegerAttr(start),
                                               b.getI64IntegerAttr(end));
    if (failed(dims))
      return failure();
    FailureOr<Value> prod = ctx.build<ReduceProdOp>(
        *dims, b.getDenseI64ArrayAttr({}), b.getBoolAttr(true));
    if (failed(prod))
      return failure();
    parts.push_back(*prod);
  }
  FailureOr<Value> target =
      ctx.build<ConcatOp>(ValueRange(parts), b.getI64IntegerAttr(0));
  if (failed(target))
    return failure();
  FailureOr<Value> y =
      ctx.build<DynamicReshapeOp>(*x, *target, b.getBoolAttr(false));
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult transpose(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  if (failed(x))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  SmallVector<int64_t> reversed;
  for (int64_t i = *rank - 1; i >= 0; --i)
    reversed.push_back(i);
  FailureOr<SmallVector<int64_t>> perm = ctx.attrInts("perm", reversed);
  if (failed(perm))
    return failure();
  FailureOr<Value> y =
      ctx.build<TransposeOp>(*x, ctx.builder().getDenseI64ArrayAttr(*perm));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Axes from the attribute (older opsets) or a constant input.
FailureOr<std::optional<SmallVector<int64_t>>>
readOptionalAxes(NodeContext &ctx, bool fromInput, unsigned inputIndex) {
  if (fromInput) {
    if (!ctx.input(inputIndex))
      return std::optional<SmallVector<int64_t>>();
    std::optional<SmallVector<int64_t>> c = ctx.constantInts(inputIndex);
    if (!c)
      return ctx.emitError() << "axes must be a constant";
    return c;
  }
  if (!ctx.hasAttr("axes"))
    return std::optional<SmallVector<int64_t>>();
  FailureOr<SmallVector<int64_t>> a = ctx.attrInts("axes", std::nullopt);
  if (failed(a))
    return failure();
  return std::optional<SmallVector<int64_t>>(*a);
}

FailureOr<SmallVector<int64_t>>
normalizeSorted(NodeContext &ctx, ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    FailureOr<int64_t> n = ctx.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    out.push_back(*n);
  }
  llvm::sort(out);
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    return ctx.emitError() << "axes contain a duplicate";
  return out;
}

template <bool AxesFromInput> LogicalResult squeeze(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  if (failed(x))
    return failure();
  FailureOr<std::optional<SmallVector<int64_t>>> axes =
      readOptionalAxes(ctx, AxesFromInput, 1);
  if (failed(axes))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  SmallVector<int64_t> normalized;
  if (*axes) {
    FailureOr<SmallVector<int64_t>> n = normalizeSorted(ctx, **axes, *rank);
    if (failed(n))
      return failure();
    normalized = *n;
  } else {
    auto type = cast<RankedTensorType>(x->getType());
    for (int64_t i = 0; i < *rank; ++i) {
      if (type.isDynamicDim(i))
        return ctx.emitError() << "Squeeze without axes needs static dims; "
                                  "dim "
                               << i << " is dynamic";
      if (type.getDimSize(i) == 1)
        normalized.push_back(i);
    }
  }
  FailureOr<Value> y =
      ctx.build<SqueezeOp>(*x, ctx.builder().getDenseI64ArrayAttr(normalized));
  return failed(y) ? failure() : ctx.setResults(*y);
}

template <bool AxesFromInput> LogicalResult unsqueeze(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  if (failed(x))
    return failure();
  FailureOr<std::optional<SmallVector<int64_t>>> axes =
      readOptionalAxes(ctx, AxesFromInput, 1);
  if (failed(axes))
    return failure();
  if (!*axes)
    return ctx.emitError() << "needs axes";
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  FailureOr<SmallVector<int64_t>> normalized =
      normalizeSorted(ctx, **axes, *rank + (*axes)->size());
  if (failed(normalized))
    return failure();
  FailureOr<Value> y = ctx.build<UnsqueezeOp>(
      *x, ctx.builder().getDenseI64ArrayAttr(*normalized));
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult concat(NodeContext &ctx) {
  SmallVector<Value> inputs;
  std::optional<int64_t> rank;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.input(i))
      return ctx.emitError() << "input " << i << " is empty";
    inputs.push_back(ctx.input(i));
    if (!rank)
      rank = NodeContext::rankOf(ctx.input(i));
  }
  FailureOr<int64_t> axisAttr = ctx.attrInt("axis", std::nullopt);
  if (failed(axisAttr))
    return failure();
  if (!rank)
    return ctx.emitError() << "the rank of the inputs must be known";
  FailureOr<int64_t> axis = ctx.normalizeAxis(*axisAttr, *rank);
  if (failed(axis))
    return failure();
  // A concat of hundreds of inputs is one huge straight-line copy that
  // LLVM's instruction scheduler takes quadratic time on: wider concats
  // become a tree of concats of at most 32 inputs (the fastest to compile,
  // measured on 500 inputs: 13.2 s as one, 1.8 s as a tree of 32s, 3.2 s
  // of 64s).
  constexpr size_t kWidest = 32;
  while (inputs.size() > kWidest) {
    SmallVector<Value> level;
    for (size_t i = 0; i < inputs.size(); i += kWidest) {
      ArrayRef<Value> chunk = ArrayRef<Value>(inputs).slice(
          i, std::min(kWidest, inputs.size() - i));
      if (chunk.size() == 1) {
        level.push_back(chunk[0]);
        continue;
      }
      FailureOr<Value> part = ctx.build<ConcatOp>(
          ValueRange(chunk), ctx.builder().getI64IntegerAttr(*axis));
      if (failed(part))
        return failure();
      level.push_back(*part);
    }
    inputs = std::move(level);
  }
  FailureOr<Value> y = ctx.build<ConcatOp>(
      ValueRange(inputs), ctx.builder().getI64IntegerAttr(*axis));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Split-2/11 (split attribute), 13 (split input), 18 (num_outputs).
LogicalResult split(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<int64_t> axisAttr = ctx.attrInt("axis", 0);
  if (failed(x) || failed(axisAttr))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  FailureOr<int64_t> axis = ctx.normalizeAxis(*axisAttr, *rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> sizes;
  if (ctx.opset() >= 13 && ctx.input(1)) {
    std::optional<SmallVector<int64_t>> c = ctx.constantInts(1);
    if (!c)
      return ctx.emitError() << "split sizes must be a constant";
    sizes = *c;
  } else if (ctx.opset() < 13 && ctx.hasAttr("split")) {
    FailureOr<SmallVector<int64_t>> s = ctx.attrInts("split", std::nullopt);
    if (failed(s))
      return failure();
    sizes = *s;
  } else {
    int64_t parts = ctx.numOutputs();
    if (ctx.opset() >= 18) {
      FailureOr<int64_t> n = ctx.attrInt("num_outputs", std::nullopt);
      if (failed(n))
        return failure();
      parts = *n;
    }
    int64_t dim = cast<RankedTensorType>(x->getType()).getDimSize(*axis);
    if (parts < 1)
      return ctx.emitError() << "needs at least one output";
    if (parts != static_cast<int64_t>(ctx.numOutputs()))
      return ctx.emitError() << "has " << ctx.numOutputs()
                             << " outputs but num_outputs is " << parts;
    if (ShapedType::isDynamic(dim)) {
      // Run-time pieces of ceil(dim / parts) (the last one smaller), as
      // slices whose bounds come from the dim: starts min(i*chunk, dim),
      // ends min((i+1)*chunk, dim). Before opset 18 the dim must divide
      // evenly, which the last piece's size then shows.
      OpBuilder &b = ctx.builder();
      FailureOr<Value> size = ctx.build<ShapeOp>(
          *x, b.getI64IntegerAttr(*axis), b.getI64IntegerAttr(*axis + 1));
      if (failed(size))
        return failure();
      Value n = ctx.constantI64({parts});
      FailureOr<Value> sum =
          ctx.build<AddOp>(*size, ctx.constantI64({parts - 1}));
      if (failed(sum))
        return failure();
      FailureOr<Value> chunk = ctx.build<DivOp>(*sum, n);
      if (failed(chunk))
        return failure();
      SmallVector<Value> results;
      for (int64_t i = 0; i < parts; ++i) {
        FailureOr<Value> begin = ctx.build<MulOp>(*chunk, ctx.constantI64({i}));
        FailureOr<Value> end =
            ctx.build<MulOp>(*chunk, ctx.constantI64({i + 1}));
        if (failed(begin) || failed(end))
          return failure();
        begin = ctx.build<MinOp>(*begin, *size);
        end = ctx.build<MinOp>(*end, *size);
        if (failed(begin) || failed(end))
          return failure();
        FailureOr<Value> piece = ctx.build<DynamicSliceOp>(
            *x, *begin, *end, b.getDenseI64ArrayAttr({*axis}),
            b.getDenseI64ArrayAttr({1}));
        if (failed(piece))
          return failure();
        results.push_back(*piece);
      }
      return ctx.setResults(results);
    }
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(
          std::max<int64_t>(0, std::min<int64_t>(chunk, dim - i * chunk)));
  }
  if (sizes.size() != ctx.numOutputs())
    return ctx.emitError() << "has " << ctx.numOutputs()
                           << " outputs but splits into " << sizes.size();
  OpBuilder &b = ctx.builder();
  FailureOr<SmallVector<Value>> y =
      ctx.buildMulti<SplitOp>(sizes.size(), *x, b.getI64IntegerAttr(*axis),
                              b.getDenseI64ArrayAttr(sizes));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Slice-10+: starts, ends, axes and steps are inputs. Axes and steps must
/// be constants; run-time starts and ends give bathy.dynamic_slice.
LogicalResult slice(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  FailureOr<Value> startsV = ctx.requiredInput(1, "starts");
  FailureOr<Value> endsV = ctx.requiredInput(2, "ends");
  if (failed(x) || failed(startsV) || failed(endsV))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  std::optional<SmallVector<int64_t>> starts = ctx.constantInts(1);
  std::optional<SmallVector<int64_t>> ends = ctx.constantInts(2);
  std::optional<int64_t> count;
  if (starts)
    count = starts->size();
  else if (auto t = dyn_cast<RankedTensorType>(startsV->getType());
           t && t.getRank() == 1 && !t.isDynamicDim(0))
    count = t.getDimSize(0);
  SmallVector<int64_t> axes;
  if (ctx.input(3)) {
    std::optional<SmallVector<int64_t>> a = ctx.constantInts(3);
    if (!a)
      return ctx.emitError() << "axes must be a constant";
    axes = *a;
  } else {
    if (!count)
      return ctx.emitError() << "the number of sliced axes must be known";
    for (int64_t i = 0; i < *count; ++i)
      axes.push_back(i);
  }
  SmallVector<int64_t> steps(axes.size(), 1);
  if (ctx.input(4)) {
    std::optional<SmallVector<int64_t>> s = ctx.constantInts(4);
    if (!s)
      return ctx.emitError() << "steps must be a constant";
    steps = *s;
  }
  if ((count && static_cast<size_t>(*count) != axes.size()) ||
      steps.size() != axes.size())
    return ctx.emitError() << "starts, ends, axes and steps must have the "
                              "same length";
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = ctx.normalizeAxis(a, *rank);
    if (failed(n))
      return failure();
    a = *n;
  }
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y =
      starts && ends ? ctx.build<SliceOp>(*x, b.getDenseI64ArrayAttr(axes),
                                          b.getDenseI64ArrayAttr(*starts),
                                          b.getDenseI64ArrayAttr(*ends),
                                          b.getDenseI64ArrayAttr(steps))
                     : ctx.build<DynamicSliceOp>(*x, *startsV, *endsV,
                                                 b.getDenseI64ArrayAttr(axes),
                                                 b.getDenseI64ArrayAttr(steps));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Gather and GatherElements: data, indices and an axis attribute.
template <typename OpTy> LogicalResult gatherLike(NodeContext &ctx) {
  FailureOr<Value> data = ctx.requiredInput(0, "data");
  FailureOr<Value> indices = ctx.requiredInput(1, "indices");
  if (failed(data) || failed(indices))
    return failure();
  FailureOr<int64_t> axis = ctx.attrAxis("axis", 0, *data);
  if (failed(axis))
    return failure();
  FailureOr<Value> y =
      ctx.build<OpTy>(*data, *indices, ctx.builder().getI64IntegerAttr(*axis));
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult expand(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<Value> s = ctx.requiredInput(1, "shape");
  if (failed(x) || failed(s))
    return failure();
  FailureOr<Value> y = ctx.build<ExpandOp>(*x, *s);
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Pad-11+: pads (and constant_value, axes) are inputs and must be constant.
LogicalResult pad(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  FailureOr<std::string> mode = ctx.attrString("mode", "constant");
  if (failed(x) || failed(mode))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  std::optional<SmallVector<int64_t>> given = ctx.constantInts(1);
  if (!given)
    return ctx.emitError() << "pads must be a constant";
  double value = 0;
  if (ctx.input(2)) {
    std::optional<double> v = ctx.constantScalar(2);
    if (!v)
      return ctx.emitError() << "constant_value must be a constant";
    value = *v;
  }
  SmallVector<int64_t> axes;
  if (ctx.input(3)) {
    std::optional<SmallVector<int64_t>> a = ctx.constantInts(3);
    if (!a)
      return ctx.emitError() << "axes must be a constant";
    for (int64_t v : *a) {
      FailureOr<int64_t> n = ctx.normalizeAxis(v, *rank);
      if (failed(n))
        return failure();
      axes.push_back(*n);
    }
  } else {
    for (int64_t i = 0; i < *rank; ++i)
      axes.push_back(i);
  }
  if (given->size() != 2 * axes.size())
    return ctx.emitError() << "pads has " << given->size() << " entries but "
                           << 2 * axes.size() << " are needed";
  SmallVector<int64_t> pads(2 * *rank, 0);
  for (auto [i, a] : llvm::enumerate(axes)) {
    pads[a] = (*given)[i];
    pads[a + *rank] = (*given)[i + axes.size()];
  }
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y =
      ctx.build<PadOp>(*x, b.getDenseI64ArrayAttr(pads), b.getStringAttr(*mode),
                       b.getF64FloatAttr(value));
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult trilu(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<int64_t> upper = ctx.attrInt("upper", 1);
  if (failed(x) || failed(upper))
    return failure();
  int64_t k = 0;
  if (ctx.input(1)) {
    std::optional<double> c = ctx.constantScalar(1);
    if (!c)
      return ctx.emitError() << "k must be a constant";
    k = static_cast<int64_t>(*c);
  }
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y = ctx.build<TriluOp>(*x, b.getBoolAttr(*upper != 0),
                                          b.getI64IntegerAttr(k));
  return failed(y) ? failure() : ctx.setResults(*y);
}

} // namespace

void populateDataMovementHandlers(OpRegistry &r) {
  r.add("Constant", 1, constant);
  r.add("Shape", 1, shape);
  r.add("Size", 1, size);
  r.add("ConstantOfShape", 9, constantOfShape);
  r.add("Range", 11, range);
  r.add("Reshape", 5, reshape);
  r.add("Flatten", 1, flatten);
  r.add("Transpose", 1, transpose);
  r.add("Squeeze", 1, squeeze<false>);
  r.add("Squeeze", 13, squeeze<true>);
  r.add("Unsqueeze", 1, unsqueeze<false>);
  r.add("Unsqueeze", 13, unsqueeze<true>);
  r.add("Concat", 4, concat);
  r.add("Split", 2, split);
  r.add("Slice", 10, slice);
  r.add("Gather", 1, gatherLike<GatherOp>);
  r.add("GatherElements", 11, gatherLike<GatherElementsOp>);
  r.add("Expand", 8, expand);
  r.add("Pad", 11, pad);
  r.add("Trilu", 14, trilu);
}

} // namespace bathy::onnx_import
