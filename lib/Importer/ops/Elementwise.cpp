//===- Elementwise.cpp - ONNX elementwise ops -----------------------------===//
//
// Unary math and activations, broadcasting binary ops (including the
// variadic Sum/Max/Min/Mean), comparisons and logic, Where, Cast, Clip,
// Identity and inference-mode Dropout.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"

using namespace mlir;

namespace bathy::onnx_import {
namespace {

template <typename OpTy> LogicalResult unary(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  if (failed(x))
    return failure();
  FailureOr<Value> y = ctx.build<OpTy>(*x);
  return failed(y) ? failure() : ctx.setResults(*y);
}

template <typename OpTy> LogicalResult binary(NodeContext &ctx) {
  FailureOr<Value> a = ctx.requiredInput(0, "A");
  FailureOr<Value> b = ctx.requiredInput(1, "B");
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> y = ctx.build<OpTy>(*a, *b);
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Folds a variadic op (Sum, Max, Min) into a chain of binary ops.
template <typename OpTy> FailureOr<Value> chain(NodeContext &ctx) {
  if (ctx.numInputs() == 0 || !ctx.input(0))
    return ctx.emitError() << "needs at least one input";
  Value acc = ctx.input(0);
  for (unsigned i = 1; i < ctx.numInputs(); ++i) {
    if (!ctx.input(i))
      return ctx.emitError() << "input " << i << " is empty";
    FailureOr<Value> next = ctx.build<OpTy>(acc, ctx.input(i));
    if (failed(next))
      return failure();
    acc = *next;
  }
  return acc;
}

template <typename OpTy> LogicalResult variadic(NodeContext &ctx) {
  FailureOr<Value> y = chain<OpTy>(ctx);
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult mean(NodeContext &ctx) {
  FailureOr<Value> sum = chain<AddOp>(ctx);
  if (failed(sum))
    return failure();
  Value count = ctx.constantScalarOf(NodeContext::elementOf(*sum),
                                     static_cast<double>(ctx.numInputs()));
  FailureOr<Value> y = ctx.build<DivOp>(*sum, count);
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult identity(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  return failed(x) ? failure() : ctx.setResults(*x);
}

/// Inference-mode Dropout is the identity and its mask is all true.
LogicalResult dropout(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "data");
  if (failed(x))
    return failure();
  if (ctx.input(2)) {
    std::optional<double> training = ctx.constantScalar(2);
    if (!training)
      return ctx.emitError() << "training_mode must be a constant";
    if (*training != 0)
      return ctx.emitError() << "training_mode is true; bathy compiles "
                                "inference graphs only";
  }
  if (!ctx.outputUsed(1))
    return ctx.setResults(*x);
  OpBuilder &b = ctx.builder();
  FailureOr<Value> shape =
      ctx.build<ShapeOp>(*x, b.getI64IntegerAttr(0), IntegerAttr());
  if (failed(shape))
    return failure();
  auto one =
      DenseElementsAttr::get(RankedTensorType::get({1}, b.getI1Type()), true);
  FailureOr<Value> mask = ctx.build<ConstantOfShapeOp>(*shape, one);
  if (failed(mask))
    return failure();
  return ctx.setResults({*x, *mask});
}

LogicalResult gelu(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  FailureOr<std::string> approximate = ctx.attrString("approximate", "none");
  if (failed(x) || failed(approximate))
    return failure();
  FailureOr<Value> y =
      ctx.build<GeluOp>(*x, ctx.builder().getStringAttr(*approximate));
  return failed(y) ? failure() : ctx.setResults(*y);
}

template <typename OpTy>
LogicalResult alphaActivation(NodeContext &ctx, float defaultAlpha) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  FailureOr<float> alpha = ctx.attrFloat("alpha", defaultAlpha);
  if (failed(x) || failed(alpha))
    return failure();
  FailureOr<Value> y =
      ctx.build<OpTy>(*x, ctx.builder().getF32FloatAttr(*alpha));
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult hardSigmoid(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  FailureOr<float> alpha = ctx.attrFloat("alpha", 0.2f);
  FailureOr<float> beta = ctx.attrFloat("beta", 0.5f);
  if (failed(x) || failed(alpha) || failed(beta))
    return failure();
  FailureOr<Value> y =
      ctx.build<HardSigmoidOp>(*x, ctx.builder().getF32FloatAttr(*alpha),
                               ctx.builder().getF32FloatAttr(*beta));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Builds bathy.clip with static bounds.
LogicalResult buildClip(NodeContext &ctx, Value x, std::optional<double> min,
                        std::optional<double> max) {
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y =
      ctx.build<ClipOp>(x, min ? b.getF64FloatAttr(*min) : FloatAttr(),
                        max ? b.getF64FloatAttr(*max) : FloatAttr());
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Clip-6: bounds are attributes.
LogicalResult clip6(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<float> min = ctx.attrFloat("min", -3.402823e38f);
  FailureOr<float> max = ctx.attrFloat("max", 3.402823e38f);
  if (failed(x) || failed(min) || failed(max))
    return failure();
  return buildClip(
      ctx, *x, ctx.hasAttr("min") ? std::optional<double>(*min) : std::nullopt,
      ctx.hasAttr("max") ? std::optional<double>(*max) : std::nullopt);
}

/// Clip-11+: bounds are optional inputs; constant ones become attributes,
/// others become max/min ops.
LogicalResult clip11(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  if (failed(x))
    return failure();
  Value minV = ctx.input(1), maxV = ctx.input(2);
  std::optional<double> minC = ctx.constantScalar(1);
  std::optional<double> maxC = ctx.constantScalar(2);
  if ((!minV || minC) && (!maxV || maxC))
    return buildClip(ctx, *x, minC, maxC);
  Value y = *x;
  if (minV) {
    FailureOr<Value> r = ctx.build<MaxOp>(y, minV);
    if (failed(r))
      return failure();
    y = *r;
  }
  if (maxV) {
    FailureOr<Value> r = ctx.build<MinOp>(y, maxV);
    if (failed(r))
      return failure();
    y = *r;
  }
  return ctx.setResults(y);
}

/// Pow allows an exponent of another numeric type; it is cast to the base's.
LogicalResult pow(NodeContext &ctx) {
  FailureOr<Value> a = ctx.requiredInput(0, "X");
  FailureOr<Value> b = ctx.requiredInput(1, "Y");
  if (failed(a) || failed(b))
    return failure();
  Value exponent = *b;
  Type base = NodeContext::elementOf(*a);
  if (NodeContext::elementOf(exponent) != base) {
    auto t = cast<TensorType>(exponent.getType());
    exponent = ctx.buildTyped<CastOp>(t.clone(base), exponent);
  }
  FailureOr<Value> y = ctx.build<PowOp>(*a, exponent);
  return failed(y) ? failure() : ctx.setResults(*y);
}

LogicalResult mod(NodeContext &ctx) {
  FailureOr<Value> a = ctx.requiredInput(0, "A");
  FailureOr<Value> b = ctx.requiredInput(1, "B");
  FailureOr<int64_t> fmod = ctx.attrInt("fmod", 0);
  if (failed(a) || failed(b) || failed(fmod))
    return failure();
  if (isa<FloatType>(NodeContext::elementOf(*a)) && *fmod == 0)
    return ctx.emitError() << "floating-point Mod needs fmod=1";
  FailureOr<Value> y =
      ctx.build<ModOp>(*a, *b, ctx.builder().getBoolAttr(*fmod != 0));
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Not-equal style helpers are not ONNX ops; comparisons map one to one.
LogicalResult where(NodeContext &ctx) {
  FailureOr<Value> c = ctx.requiredInput(0, "condition");
  FailureOr<Value> x = ctx.requiredInput(1, "X");
  FailureOr<Value> y = ctx.requiredInput(2, "Y");
  if (failed(c) || failed(x) || failed(y))
    return failure();
  FailureOr<Value> r = ctx.build<WhereOp>(*c, *x, *y);
  return failed(r) ? failure() : ctx.setResults(*r);
}

LogicalResult castTo(NodeContext &ctx, Value x, Type element) {
  auto t = cast<TensorType>(x.getType());
  return ctx.setResults(ctx.buildTyped<CastOp>(t.clone(element), x));
}

LogicalResult cast(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<int64_t> to = ctx.attrInt("to", std::nullopt);
  if (failed(x) || failed(to))
    return failure();
  FailureOr<int64_t> saturate = ctx.attrInt("saturate", 1);
  if (failed(saturate))
    return failure();
  FailureOr<Type> element =
      convertElementType(static_cast<int32_t>(*to), ctx.loc(), "Cast target");
  if (failed(element))
    return failure();
  return castTo(ctx, *x, *element);
}

LogicalResult castLike(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "input");
  FailureOr<Value> like = ctx.requiredInput(1, "target_type");
  if (failed(x) || failed(like))
    return failure();
  return castTo(ctx, *x, NodeContext::elementOf(*like));
}

} // namespace

void populateElementwiseHandlers(OpRegistry &r) {
  r.add("Abs", 6, unary<AbsOp>);
  r.add("Neg", 6, unary<NegOp>);
  r.add("Sign", 9, unary<SignOp>);
  r.add("Relu", 6, unary<ReluOp>);
  r.add("Exp", 6, unary<ExpOp>);
  r.add("Log", 6, unary<LogOp>);
  r.add("Sqrt", 6, unary<SqrtOp>);
  r.add("Reciprocal", 6, unary<ReciprocalOp>);
  r.add("Tanh", 6, unary<TanhOp>);
  r.add("Erf", 9, unary<ErfOp>);
  r.add("Sigmoid", 6, unary<SigmoidOp>);
  r.add("HardSwish", 14, unary<HardSwishOp>);
  r.add("Softplus", 1, unary<SoftplusOp>);
  r.add("Cos", 7, unary<CosOp>);
  r.add("Sin", 7, unary<SinOp>);
  r.add("Floor", 6, unary<FloorOp>);
  r.add("Ceil", 6, unary<CeilOp>);
  r.add("Round", 11, unary<RoundOp>);
  r.add("Not", 1, unary<NotOp>);
  r.add("Gelu", 20, gelu);
  r.add("LeakyRelu", 6,
        [](NodeContext &c) { return alphaActivation<LeakyReluOp>(c, 0.01f); });
  r.add("Elu", 6,
        [](NodeContext &c) { return alphaActivation<EluOp>(c, 1.0f); });
  r.add("HardSigmoid", 6, hardSigmoid);
  r.add("Clip", 6, clip6);
  r.add("Clip", 11, clip11);
  r.add("Identity", 1, identity);
  r.add("Dropout", 7, dropout);

  r.add("Add", 7, binary<AddOp>);
  r.add("Sub", 7, binary<SubOp>);
  r.add("Mul", 7, binary<MulOp>);
  r.add("Div", 7, binary<DivOp>);
  r.add("Pow", 7, pow);
  r.add("Mod", 10, mod);
  r.add("PRelu", 9, binary<PReluOp>);
  r.add("Sum", 8, variadic<AddOp>);
  r.add("Max", 8, variadic<MaxOp>);
  r.add("Min", 8, variadic<MinOp>);
  r.add("Mean", 8, mean);
  r.add("And", 7, binary<AndOp>);
  r.add("Or", 7, binary<OrOp>);
  r.add("Xor", 7, binary<XorOp>);
  r.add("Equal", 7, binary<EqualOp>);
  r.add("Less", 7, binary<LessOp>);
  r.add("LessOrEqual", 12, binary<LessEqualOp>);
  r.add("Greater", 7, binary<GreaterOp>);
  r.add("GreaterOrEqual", 12, binary<GreaterEqualOp>);
  r.add("Where", 9, where);
  r.add("Cast", 6, cast);
  r.add("CastLike", 15, castLike);
}

} // namespace bathy::onnx_import
