//===- Reduction.cpp - ONNX reductions, softmax and normalization ---------===//
#include "OpRegistry.h"

using namespace mlir;

namespace bathy::onnx_import {
namespace {

/// Softmax/LogSoftmax/Hardmax. Before opset 13 the op flattens dims [axis, rank) into
/// one (default axis 1); from 13 on it works along one axis (default -1).
template <typename OpTy> LogicalResult softmaxLike(NodeContext &ctx) {
  bool coerced = ctx.opset() < 13;
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<int64_t> axisAttr = ctx.attrInt("axis", coerced ? 1 : -1);
  if (failed(x) || failed(axisAttr))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*x, "the input");
  if (failed(rank))
    return failure();
  FailureOr<int64_t> axis = ctx.normalizeAxis(*axisAttr, *rank);
  if (failed(axis))
    return failure();
  OpBuilder &b = ctx.builder();
  if (!coerced || *axis == *rank - 1) {
    FailureOr<Value> y = ctx.build<OpTy>(*x, b.getI64IntegerAttr(*axis));
    return failed(y) ? failure() : ctx.setResults(*y);
  }
  // Coerced to 2-D: [prod(dims < axis), prod(dims >= axis)].
  auto type = cast<RankedTensorType>(x->getType());
  int64_t inner = staticProduct(type.getShape().drop_front(*axis));
  int64_t outer = staticProduct(type.getShape().take_front(*axis));
  if (ShapedType::isDynamic(inner) || type.getNumDynamicDims() > 1)
    return ctx.emitError() << "opset-" << ctx.opset() << " " << ctx.opType()
                           << " over several dims needs static dims from "
                              "the axis on";
  auto flatType = RankedTensorType::get({outer, inner}, type.getElementType());
  Value flat = ctx.buildTyped<ReshapeOp>(flatType, *x);
  FailureOr<Value> y = ctx.build<OpTy>(flat, b.getI64IntegerAttr(1));
  if (failed(y))
    return failure();
  return ctx.setResults(ctx.buildTyped<ReshapeOp>(type, *y));
}

/// Reads reduction axes from the attribute (older opsets) or the second
/// input; returns them normalized, sorted and unique. Empty means "all"
/// unless noop_with_empty_axes, reported through `noop`.
FailureOr<SmallVector<int64_t>> readAxes(NodeContext &ctx, Value x,
                                         bool fromInput, bool &noop) {
  FailureOr<int64_t> noopAttr = ctx.attrInt("noop_with_empty_axes", 0);
  if (failed(noopAttr))
    return failure();
  SmallVector<int64_t> axes;
  if (fromInput) {
    if (ctx.input(1)) {
      std::optional<SmallVector<int64_t>> c = ctx.constantInts(1);
      if (!c)
        return ctx.emitError() << "axes must be a constant";
      axes = *c;
    }
  } else {
    FailureOr<SmallVector<int64_t>> a =
        ctx.attrInts("axes", SmallVector<int64_t>{});
    if (failed(a))
      return failure();
    axes = *a;
  }
  noop = axes.empty() && *noopAttr;
  if (axes.empty())
    return axes;
  FailureOr<int64_t> rank = ctx.requireRank(x, "the input");
  if (failed(rank))
    return failure();
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = ctx.normalizeAxis(a, *rank);
    if (failed(n))
      return failure();
    a = *n;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

template <typename OpTy, bool AxesFromInput>
LogicalResult reduce(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  FailureOr<int64_t> keepdims = ctx.attrInt("keepdims", 1);
  if (failed(x) || failed(keepdims))
    return failure();
  bool noop = false;
  FailureOr<SmallVector<int64_t>> axes = readAxes(ctx, *x, AxesFromInput, noop);
  if (failed(axes))
    return failure();
  if (noop)
    return ctx.setResults(*x);
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y = ctx.build<OpTy>(*x, b.getDenseI64ArrayAttr(*axes),
                                       b.getBoolAttr(*keepdims != 0));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// The reductions ONNX defines as an elementwise map, a sum and a final map:
/// ReduceL1 = sum|x|, ReduceL2 = sqrt(sum x²), ReduceSumSquare = sum x²,
/// ReduceLogSum = log(sum x), ReduceLogSumExp = log(sum e^x) (computed as
/// m + log(sum e^(x - m)) with m the max, so large inputs do not overflow).
enum class SumKind { L1, L2, SumSquare, LogSum, LogSumExp };

template <SumKind K, bool AxesFromInput>
LogicalResult compositeReduce(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  FailureOr<int64_t> keepdims = ctx.attrInt("keepdims", 1);
  if (failed(x) || failed(keepdims))
    return failure();
  bool noop = false;
  FailureOr<SmallVector<int64_t>> axes = readAxes(ctx, *x, AxesFromInput, noop);
  if (failed(axes))
    return failure();
  OpBuilder &b = ctx.builder();
  auto sum = [&](Value v, bool keep) -> FailureOr<Value> {
    if (noop)
      return v;
    return ctx.build<ReduceSumOp>(v, b.getDenseI64ArrayAttr(*axes),
                                  b.getBoolAttr(keep));
  };
  auto max = [&](bool keep) -> FailureOr<Value> {
    if (noop)
      return *x;
    return ctx.build<ReduceMaxOp>(*x, b.getDenseI64ArrayAttr(*axes),
                                  b.getBoolAttr(keep));
  };
  bool keep = *keepdims != 0;
  FailureOr<Value> y = failure();
  switch (K) {
  case SumKind::L1: {
    FailureOr<Value> a = ctx.build<AbsOp>(*x);
    y = failed(a) ? a : sum(*a, keep);
    break;
  }
  case SumKind::L2:
  case SumKind::SumSquare: {
    FailureOr<Value> sq = ctx.build<MulOp>(*x, *x);
    y = failed(sq) ? sq : sum(*sq, keep);
    if (K == SumKind::L2 && succeeded(y))
      y = ctx.build<SqrtOp>(*y);
    break;
  }
  case SumKind::LogSum:
    y = sum(*x, keep);
    if (succeeded(y))
      y = ctx.build<LogOp>(*y);
    break;
  case SumKind::LogSumExp: {
    FailureOr<Value> m = max(true);
    FailureOr<Value> shifted = failed(m) ? m : ctx.build<SubOp>(*x, *m);
    FailureOr<Value> e = failed(shifted) ? shifted : ctx.build<ExpOp>(*shifted);
    FailureOr<Value> s = failed(e) ? e : sum(*e, keep);
    FailureOr<Value> l = failed(s) ? s : ctx.build<LogOp>(*s);
    FailureOr<Value> mOut = failed(l) ? l : keep ? m : max(false);
    y = failed(mOut) ? mOut : ctx.build<AddOp>(*l, *mOut);
    break;
  }
  }
  return failed(y) ? failure() : ctx.setResults(*y);
}

template <typename OpTy> LogicalResult argReduce(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  FailureOr<int64_t> keepdims = ctx.attrInt("keepdims", 1);
  FailureOr<int64_t> last = ctx.attrInt("select_last_index", 0);
  if (failed(x) || failed(keepdims) || failed(last))
    return failure();
  FailureOr<int64_t> axis = ctx.attrAxis("axis", 0, *x);
  if (failed(axis))
    return failure();
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y =
      ctx.build<OpTy>(*x, b.getI64IntegerAttr(*axis),
                      b.getBoolAttr(*keepdims != 0), b.getBoolAttr(*last != 0));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// The inputs and attributes LayerNormalization and RMSNormalization share.
struct NormArgs {
  Value x, scale;
  int64_t axis, rank;
  float epsilon;
};

FailureOr<NormArgs> readNorm(NodeContext &ctx, StringRef scaleName) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  FailureOr<Value> scale = ctx.requiredInput(1, scaleName);
  FailureOr<float> epsilon = ctx.attrFloat("epsilon", 1e-5f);
  if (failed(x) || failed(scale) || failed(epsilon))
    return failure();
  FailureOr<int64_t> axis = ctx.attrAxis("axis", -1, *x);
  if (failed(axis))
    return failure();
  return NormArgs{*x, *scale, *axis, *NodeContext::rankOf(*x), *epsilon};
}

LogicalResult layerNorm(NodeContext &ctx) {
  FailureOr<NormArgs> args = readNorm(ctx, "Scale");
  if (failed(args))
    return failure();
  Value x = args->x;
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y = ctx.build<LayerNormOp>(x, args->scale, ctx.input(2),
                                              b.getI64IntegerAttr(args->axis),
                                              b.getF32FloatAttr(args->epsilon));
  if (failed(y))
    return failure();
  if (!ctx.outputUsed(1) && !ctx.outputUsed(2))
    return ctx.setResults(*y);
  // The optional Mean and InvStdDev outputs, over dims [axis, rank) with
  // those dims kept as size 1.
  SmallVector<int64_t> axes;
  for (int64_t a = args->axis; a < args->rank; ++a)
    axes.push_back(a);
  auto reduceMean = [&](Value v) {
    return ctx.build<ReduceMeanOp>(v, b.getDenseI64ArrayAttr(axes),
                                   b.getBoolAttr(true));
  };
  FailureOr<Value> mean = reduceMean(x);
  if (failed(mean))
    return failure();
  FailureOr<Value> centered = ctx.build<SubOp>(x, *mean);
  if (failed(centered))
    return failure();
  FailureOr<Value> squared = ctx.build<MulOp>(*centered, *centered);
  if (failed(squared))
    return failure();
  FailureOr<Value> variance = reduceMean(*squared);
  if (failed(variance))
    return failure();
  Value eps = ctx.constantScalarOf(NodeContext::elementOf(x), args->epsilon);
  FailureOr<Value> shifted = ctx.build<AddOp>(*variance, eps);
  if (failed(shifted))
    return failure();
  FailureOr<Value> invStdDev = ctx.build<RsqrtOp>(*shifted);
  if (failed(invStdDev))
    return failure();
  return ctx.setResults({*y, *mean, *invStdDev});
}

LogicalResult rmsNorm(NodeContext &ctx) {
  FailureOr<NormArgs> args = readNorm(ctx, "scale");
  if (failed(args))
    return failure();
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y = ctx.build<RmsNormOp>(args->x, args->scale,
                                            b.getI64IntegerAttr(args->axis),
                                            b.getF32FloatAttr(args->epsilon));
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult batchNorm(NodeContext &ctx) {
  SmallVector<Value> in;
  const char *names[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (auto [i, what] : llvm::enumerate(names)) {
    FailureOr<Value> v = ctx.requiredInput(i, what);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  FailureOr<float> epsilon = ctx.attrFloat("epsilon", 1e-5f);
  FailureOr<int64_t> training = ctx.attrInt("training_mode", 0);
  FailureOr<int64_t> spatial = ctx.attrInt("spatial", 1);
  if (failed(epsilon) || failed(training) || failed(spatial))
    return failure();
  if (*training)
    return ctx.emitError() << "training_mode=1 is not supported; bathy "
                              "compiles inference graphs";
  if (*spatial != 1)
    return ctx.emitError() << "spatial=0 is not supported";
  FailureOr<Value> y =
      ctx.build<BatchNormOp>(in[0], in[1], in[2], in[3], in[4],
                             ctx.builder().getF32FloatAttr(*epsilon));
  return failed(y) ? failure() : ctx.setResults(*y);
}

} // namespace

void populateReductionHandlers(OpRegistry &r) {
  r.add("Softmax", 1, softmaxLike<SoftmaxOp>);
  r.add("Softmax", 13, softmaxLike<SoftmaxOp>);
  r.add("LogSoftmax", 1, softmaxLike<LogSoftmaxOp>);
  r.add("LogSoftmax", 13, softmaxLike<LogSoftmaxOp>);
  r.add("Hardmax", 1, softmaxLike<HardmaxOp>);
  r.add("Hardmax", 13, softmaxLike<HardmaxOp>);
  r.add("LayerNormalization", 17, layerNorm);
  r.add("RMSNormalization", 23, rmsNorm);
  r.add("BatchNormalization", 7, batchNorm);
  r.add("ReduceSum", 1, reduce<ReduceSumOp, false>);
  r.add("ReduceSum", 13, reduce<ReduceSumOp, true>);
  r.add("ReduceMean", 1, reduce<ReduceMeanOp, false>);
  r.add("ReduceMean", 18, reduce<ReduceMeanOp, true>);
  r.add("ReduceMax", 1, reduce<ReduceMaxOp, false>);
  r.add("ReduceMax", 18, reduce<ReduceMaxOp, true>);
  r.add("ReduceMin", 1, reduce<ReduceMinOp, false>);
  r.add("ReduceMin", 18, reduce<ReduceMinOp, true>);
  r.add("ReduceProd", 1, reduce<ReduceProdOp, false>);
  r.add("ReduceProd", 18, reduce<ReduceProdOp, true>);
  r.add("ReduceL1", 1, compositeReduce<SumKind::L1, false>);
  r.add("ReduceL1", 18, compositeReduce<SumKind::L1, true>);
  r.add("ReduceL2", 1, compositeReduce<SumKind::L2, false>);
  r.add("ReduceL2", 18, compositeReduce<SumKind::L2, true>);
  r.add("ReduceSumSquare", 1, compositeReduce<SumKind::SumSquare, false>);
  r.add("ReduceSumSquare", 18, compositeReduce<SumKind::SumSquare, true>);
  r.add("ReduceLogSum", 1, compositeReduce<SumKind::LogSum, false>);
  r.add("ReduceLogSum", 18, compositeReduce<SumKind::LogSum, true>);
  r.add("ReduceLogSumExp", 1, compositeReduce<SumKind::LogSumExp, false>);
  r.add("ReduceLogSumExp", 18, compositeReduce<SumKind::LogSumExp, true>);
  r.add("ArgMax", 1, argReduce<ArgMaxOp>);
  r.add("ArgMin", 1, argReduce<ArgMinOp>);
}

} // namespace bathy::onnx_import
