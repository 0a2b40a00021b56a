//===- Folds.cpp - Folders and canonicalizations of bathy ops -------------===//
//
// Identity folds (x + 0, x * 1, transpose by the identity, reshape to the
// same type), composition of transposes and reshapes, and constant folding of
// small tensors (at most kMaxFoldElements elements), which is what turns the
// Shape -> Gather -> Concat -> Reshape chains of exported models into static
// reshapes when the shapes are known.
//
//===----------------------------------------------------------------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/APSInt.h"

using namespace mlir;
using namespace bathy;

/// A dense constant small enough to fold, or null. Resource blobs (weights)
/// are never folded.
static DenseElementsAttr getSmallDense(Attribute attr) {
  auto dense = dyn_cast_if_present<DenseElementsAttr>(attr);
  if (!dense)
    return {};
  if (!dense.isSplat() && dense.getNumElements() > kMaxFoldElements)
    return {};
  return dense;
}

/// The static ranked result type of a single-result op if small enough.
static RankedTensorType getFoldableResultType(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || !ranked.hasStaticShape() ||
      ranked.getNumElements() > kMaxFoldElements)
    return {};
  return ranked;
}

/// Maps a linear index into a broadcast result to the operand's index.
static int64_t broadcastSourceIndex(int64_t linear, ArrayRef<int64_t> out,
                                    ArrayRef<int64_t> in) {
  int64_t index = 0, stride = 1;
  for (int64_t d = static_cast<int64_t>(out.size()) - 1,
               e = static_cast<int64_t>(in.size()) - 1;
       d >= 0; --d, --e) {
    int64_t coord = linear % out[d];
    linear /= out[d];
    if (e < 0)
      continue;
    if (in[e] != 1)
      index += coord * stride;
    stride *= in[e];
  }
  return index;
}

/// True if `attr` is a splat whose every element equals `value`.
static bool isSplatOf(Attribute attr, double value) {
  auto dense = dyn_cast_if_present<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return false;
  Type element = dense.getElementType();
  if (isa<FloatType>(element))
    return dense.getSplatValue<APFloat>().convertToDouble() == value;
  if (isa<IntegerType>(element))
    return dense.getSplatValue<APInt>().getSExtValue() ==
           static_cast<int64_t>(value);
  return false;
}

using FloatFn = function_ref<std::optional<APFloat>(APFloat, APFloat)>;
using IntFn =
    function_ref<std::optional<APInt>(const APInt &, const APInt &, bool)>;

/// Folds an elementwise binary op over two small dense constants.
static Attribute foldBinary(Type resultType, Attribute lhsAttr,
                            Attribute rhsAttr, FloatFn floatFn, IntFn intFn) {
  DenseElementsAttr lhs = getSmallDense(lhsAttr), rhs = getSmallDense(rhsAttr);
  RankedTensorType result = getFoldableResultType(resultType);
  if (!lhs || !rhs || !result)
    return {};
  Type element = lhs.getElementType();
  if (element != result.getElementType())
    return {};
  ArrayRef<int64_t> outShape = result.getShape();
  ArrayRef<int64_t> lhsShape = lhs.getType().getShape();
  ArrayRef<int64_t> rhsShape = rhs.getType().getShape();
  int64_t count = result.getNumElements();
  if (isa<FloatType>(element)) {
    if (!floatFn)
      return {};
    auto lv = llvm::to_vector(lhs.getValues<APFloat>());
    auto rv = llvm::to_vector(rhs.getValues<APFloat>());
    SmallVector<APFloat> out;
    out.reserve(count);
    for (int64_t i = 0; i < count; ++i) {
      std::optional<APFloat> v = floatFn(
          lhs.isSplat() ? lv[0]
                        : lv[broadcastSourceIndex(i, outShape, lhsShape)],
          rhs.isSplat() ? rv[0]
                        : rv[broadcastSourceIndex(i, outShape, rhsShape)]);
      if (!v)
        return {};
      out.push_back(*v);
    }
    return DenseElementsAttr::get(result, out);
  }
  auto intType = dyn_cast<IntegerType>(element);
  if (!intType || !intFn)
    return {};
  bool isUnsigned = intType.isUnsigned();
  auto lv = llvm::to_vector(lhs.getValues<APInt>());
  auto rv = llvm::to_vector(rhs.getValues<APInt>());
  SmallVector<APInt> out;
  out.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    std::optional<APInt> v = intFn(
        lhs.isSplat() ? lv[0] : lv[broadcastSourceIndex(i, outShape, lhsShape)],
        rhs.isSplat() ? rv[0] : rv[broadcastSourceIndex(i, outShape, rhsShape)],
        isUnsigned);
    if (!v)
      return {};
    out.push_back(*v);
  }
  return DenseElementsAttr::get(result, out);
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

// Exporters build broadcast targets and masks from Shape with
// ConstantOfShape, Equal and Where (Expand's "-1 means keep" idiom); folding
// them lets a static input shape reach every Expand and Reshape.
OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor) {
  // Small results only: a large splat would become a large global in code.
  RankedTensorType type = getFoldableResultType(getType());
  auto value = dyn_cast<DenseElementsAttr>(getValue());
  if (!type || !value || value.getNumElements() != 1 ||
      value.getElementType() != type.getElementType())
    return {};
  return DenseElementsAttr::get(type, value.getValues<Attribute>()[0]);
}

/// The element of a small dense constant that broadcasts to `linear`.
template <typename T>
static T elementAt(DenseElementsAttr attr, int64_t linear,
                   ArrayRef<int64_t> out) {
  if (attr.isSplat())
    return attr.getSplatValue<T>();
  return attr.getValues<T>()[broadcastSourceIndex(linear, out,
                                                  attr.getType().getShape())];
}

OpFoldResult EqualOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr lhs = getSmallDense(adaptor.getLhs()),
                    rhs = getSmallDense(adaptor.getRhs());
  RankedTensorType result = getFoldableResultType(getType());
  if (!lhs || !rhs || !result || !isa<IntegerType>(lhs.getElementType()) ||
      lhs.getElementType() != rhs.getElementType())
    return {};
  SmallVector<bool> out;
  for (int64_t i = 0, e = result.getNumElements(); i < e; ++i)
    out.push_back(elementAt<APInt>(lhs, i, result.getShape()) ==
                  elementAt<APInt>(rhs, i, result.getShape()));
  return DenseElementsAttr::get(result, out);
}

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr cond = getSmallDense(adaptor.getCondition()),
                    lhs = getSmallDense(adaptor.getLhs()),
                    rhs = getSmallDense(adaptor.getRhs());
  RankedTensorType result = getFoldableResultType(getType());
  if (!cond || !lhs || !rhs || !result ||
      lhs.getElementType() != result.getElementType() ||
      rhs.getElementType() != result.getElementType())
    return {};
  SmallVector<Attribute> out;
  for (int64_t i = 0, e = result.getNumElements(); i < e; ++i)
    out.push_back(elementAt<bool>(cond, i, result.getShape())
                      ? elementAt<Attribute>(lhs, i, result.getShape())
                      : elementAt<Attribute>(rhs, i, result.getShape()));
  return DenseElementsAttr::get(result, out);
}

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  auto result = dyn_cast<RankedTensorType>(getType());
  if (!input || !result || !result.hasStaticShape())
    return {};
  int64_t rank = input.getRank();
  int64_t start = static_cast<int64_t>(getStart());
  if (start < 0)
    start += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  ArrayRef<int64_t> dims =
      input.getShape().drop_front(start).take_front(result.getDimSize(0));
  if (llvm::any_of(dims, ShapedType::isDynamic))
    return {};
  return DenseElementsAttr::get(result, dims);
}

OpFoldResult SizeOp::fold(FoldAdaptor) {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  auto result = dyn_cast<RankedTensorType>(getType());
  if (!input || !input.hasStaticShape() || !result)
    return {};
  return DenseElementsAttr::get(result, input.getNumElements());
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  if (auto inner = getInput().getDefiningOp<NegOp>())
    if (inner.getInput().getType() == getType())
      return inner.getInput();
  DenseElementsAttr input = getSmallDense(adaptor.getInput());
  if (!input || input.getType() != getType())
    return {};
  if (isa<FloatType>(input.getElementType()))
    return input.mapValues(input.getElementType(), [](const APFloat &v) {
      APFloat n = v;
      n.changeSign();
      return n.bitcastToAPInt();
    });
  return input.mapValues(input.getElementType(),
                         [](const APInt &v) { return -v; });
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldBinary(
      getType(), adaptor.getLhs(), adaptor.getRhs(),
      [](APFloat a, APFloat b) -> std::optional<APFloat> {
        a.add(b, APFloat::rmNearestTiesToEven);
        return a;
      },
      [](const APInt &a, const APInt &b, bool) -> std::optional<APInt> {
        return a + b;
      });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldBinary(
      getType(), adaptor.getLhs(), adaptor.getRhs(),
      [](APFloat a, APFloat b) -> std::optional<APFloat> {
        a.subtract(b, APFloat::rmNearestTiesToEven);
        return a;
      },
      [](const APInt &a, const APInt &b, bool) -> std::optional<APInt> {
        return a - b;
      });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return foldBinary(
      getType(), adaptor.getLhs(), adaptor.getRhs(),
      [](APFloat a, APFloat b) -> std::optional<APFloat> {
        a.multiply(b, APFloat::rmNearestTiesToEven);
        return a;
      },
      [](const APInt &a, const APInt &b, bool) -> std::optional<APInt> {
        return a * b;
      });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return foldBinary(
      getType(), adaptor.getLhs(), adaptor.getRhs(),
      [](APFloat a, APFloat b) -> std::optional<APFloat> {
        a.divide(b, APFloat::rmNearestTiesToEven);
        return a;
      },
      [](const APInt &a, const APInt &b,
         bool isUnsigned) -> std::optional<APInt> {
        // bathy's integer division is total, as on the CPU at run time
        // (bathy-cpu-safe-integer-division): x / 0 = 0 (NumPy's result),
        // INT_MIN / -1 wraps to INT_MIN.
        if (b.isZero())
          return APInt::getZero(a.getBitWidth());
        if (!isUnsigned && b.isAllOnes())
          return -a;
        return isUnsigned ? a.udiv(b) : a.sdiv(b);
      });
}

OpFoldResult ModOp::fold(FoldAdaptor adaptor) {
  // Integers only (exporters compute slice bounds with Mod of constants).
  bool fmod = getFmod();
  return foldBinary(
      getType(), adaptor.getLhs(), adaptor.getRhs(),
      [](APFloat, APFloat) -> std::optional<APFloat> { return std::nullopt; },
      [fmod](const APInt &a, const APInt &b,
             bool isUnsigned) -> std::optional<APInt> {
        // Total, like division: x % 0 = 0, x % -1 = 0.
        if (b.isZero() || (!isUnsigned && b.isAllOnes()))
          return APInt::getZero(a.getBitWidth());
        if (isUnsigned)
          return a.urem(b);
        // srem takes the dividend's sign (fmod); ONNX's integer Mod takes
        // the divisor's.
        APInt r = a.srem(b);
        if (!fmod && !r.isZero() && r.isNegative() != b.isNegative())
          r += b;
        return r;
      });
}

OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      getType(), adaptor.getLhs(), adaptor.getRhs(),
      [](APFloat a, APFloat b) -> std::optional<APFloat> {
        return llvm::maximum(a, b);
      },
      [](const APInt &a, const APInt &b,
         bool isUnsigned) -> std::optional<APInt> {
        return isUnsigned ? (a.ugt(b) ? a : b) : (a.sgt(b) ? a : b);
      });
}

OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      getType(), adaptor.getLhs(), adaptor.getRhs(),
      [](APFloat a, APFloat b) -> std::optional<APFloat> {
        return llvm::minimum(a, b);
      },
      [](const APInt &a, const APInt &b,
         bool isUnsigned) -> std::optional<APInt> {
        return isUnsigned ? (a.ult(b) ? a : b) : (a.slt(b) ? a : b);
      });
}

/// Converts one element for CastOp's folder; nullopt if not representable.
static std::optional<Attribute> castElement(Attribute value, Type from,
                                            Type to) {
  bool fromUnsigned = from.isUnsignedInteger();
  if (auto toFloat = dyn_cast<FloatType>(to)) {
    APFloat result(toFloat.getFloatSemantics());
    if (auto f = dyn_cast<FloatAttr>(value)) {
      result = f.getValue();
      bool lost;
      result.convert(toFloat.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                     &lost);
    } else if (auto i = dyn_cast<IntegerAttr>(value)) {
      APInt v = i.getValue();
      result.convertFromAPInt(v, !fromUnsigned && v.getBitWidth() > 1,
                              APFloat::rmNearestTiesToEven);
    } else {
      return std::nullopt;
    }
    return FloatAttr::get(to, result);
  }
  auto toInt = dyn_cast<IntegerType>(to);
  if (!toInt)
    return std::nullopt;
  unsigned width = toInt.getWidth();
  if (auto i = dyn_cast<IntegerAttr>(value)) {
    APInt v = i.getValue();
    if (width == 1)
      return IntegerAttr::get(to, APInt(1, !v.isZero()));
    bool sext = !fromUnsigned && v.getBitWidth() > 1;
    return IntegerAttr::get(to,
                            sext ? v.sextOrTrunc(width) : v.zextOrTrunc(width));
  }
  if (auto f = dyn_cast<FloatAttr>(value)) {
    if (width == 1)
      return IntegerAttr::get(to, APInt(1, !f.getValue().isZero()));
    APSInt result(width, toInt.isUnsigned());
    bool exact;
    if (f.getValue().convertToInteger(result, APFloat::rmTowardZero, &exact) ==
        APFloat::opInvalidOp)
      return std::nullopt; // NaN or out of range: leave for run time.
    return IntegerAttr::get(to, result);
  }
  return std::nullopt;
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  DenseElementsAttr input = getSmallDense(adaptor.getInput());
  auto result = dyn_cast<RankedTensorType>(getType());
  if (!input || !result || result.getShape() != input.getType().getShape())
    return {};
  Type from = input.getElementType(), to = result.getElementType();
  SmallVector<Attribute> out;
  for (Attribute v : input.getValues<Attribute>()) {
    std::optional<Attribute> c = castElement(v, from, to);
    if (!c)
      return {};
    out.push_back(*c);
    if (input.isSplat())
      break;
  }
  if (input.isSplat())
    return DenseElementsAttr::get(result, out.front());
  return DenseElementsAttr::get(result, out);
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = llvm::all_of(llvm::enumerate(perm), [](auto p) {
    return static_cast<int64_t>(p.index()) == p.value();
  });
  if (identity && getInput().getType() == getType())
    return getInput();
  // transpose(transpose(x, inner), outer) == transpose(x, inner o outer).
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(inner.getPerm()[p]);
    getInputMutable().assign(inner.getInput());
    setPerm(composed);
    return getResult();
  }
  return {};
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  DenseElementsAttr input = getSmallDense(adaptor.getInput());
  if (input && getType().hasStaticShape())
    return input.reshape(getType());
  return {};
}

namespace {
/// dynamic_reshape -> reshape once the result type pins the shape down: it is
/// static, or the shape operand is a constant and at most one dim is dynamic.
struct DynamicToStaticReshape : OpRewritePattern<DynamicReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DynamicReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto result = dyn_cast<RankedTensorType>(op.getType());
    if (!result)
      return failure();
    bool constantShape = matchPattern(op.getShape(), m_Constant());
    if (!result.hasStaticShape() &&
        !(constantShape && result.getNumDynamicDims() <= 1))
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, result, op.getInput());
    return success();
  }
};
} // namespace

void DynamicReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                   MLIRContext *context) {
  results.add<DynamicToStaticReshape>(context);
}

namespace {
/// dynamic_slice -> slice once starts and ends are constants.
struct DynamicToStaticSlice : OpRewritePattern<DynamicSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DynamicSliceOp op,
                                PatternRewriter &rewriter) const override {
    DenseIntElementsAttr starts, ends;
    if (!matchPattern(op.getStarts(), m_Constant(&starts)) ||
        !matchPattern(op.getEnds(), m_Constant(&ends)))
      return failure();
    auto values = [](DenseIntElementsAttr attr) {
      return llvm::to_vector(
          llvm::map_range(attr.getValues<APInt>(),
                          [](const APInt &v) { return v.getSExtValue(); }));
    };
    rewriter.replaceOpWithNewOp<SliceOp>(
        op, op.getType(), op.getInput(), op.getAxesAttr(),
        rewriter.getDenseI64ArrayAttr(values(starts)),
        rewriter.getDenseI64ArrayAttr(values(ends)), op.getStepsAttr());
    return success();
  }
};
} // namespace

void DynamicSliceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *context) {
  results.add<DynamicToStaticSlice>(context);
}

OpFoldResult ExpandOp::fold(FoldAdaptor) {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  if (input && input.hasStaticShape() && input == getType())
    return getInput();
  return {};
}

/// squeeze/unsqueeze of a constant is a reshape of its data.
static OpFoldResult foldReshapeLike(Value input, Attribute inputAttr,
                                    Type resultType) {
  if (input.getType() == resultType)
    return input;
  DenseElementsAttr dense = getSmallDense(inputAttr);
  auto result = dyn_cast<RankedTensorType>(resultType);
  if (dense && result && result.hasStaticShape())
    return dense.reshape(result);
  return {};
}

OpFoldResult SqueezeOp::fold(FoldAdaptor adaptor) {
  return foldReshapeLike(getInput(), adaptor.getInput(), getType());
}

OpFoldResult UnsqueezeOp::fold(FoldAdaptor adaptor) {
  return foldReshapeLike(getInput(), adaptor.getInput(), getType());
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  RankedTensorType result = getFoldableResultType(getType());
  if (!result)
    return {};
  SmallVector<DenseElementsAttr> inputs;
  for (Attribute a : adaptor.getInputs()) {
    DenseElementsAttr dense = getSmallDense(a);
    if (!dense || !dense.getType().hasStaticShape())
      return {};
    inputs.push_back(dense);
  }
  int64_t axis = static_cast<int64_t>(getAxis());
  ArrayRef<int64_t> shape = result.getShape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < result.getRank(); ++d)
    inner *= shape[d];
  SmallVector<SmallVector<Attribute>> values;
  for (DenseElementsAttr in : inputs)
    values.push_back(llvm::to_vector(in.getValues<Attribute>()));
  SmallVector<Attribute> out;
  out.reserve(result.getNumElements());
  for (int64_t o = 0; o < outer; ++o)
    for (auto [in, vals] : llvm::zip(inputs, values)) {
      int64_t chunk = in.getType().getDimSize(axis) * inner;
      for (int64_t j = 0; j < chunk; ++j)
        out.push_back(in.isSplat() ? vals[0] : vals[o * chunk + j]);
    }
  return DenseElementsAttr::get(result, out);
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  // gather(shape(x), i) is a constant when the dims it picks are static.
  if (getData().getDefiningOp<ShapeOp>()) {
    auto result = dyn_cast<RankedTensorType>(getType());
    std::optional<infer::PartialValues> values =
        infer::getPartialInts(getResult());
    if (result && result.hasStaticShape() && values &&
        static_cast<int64_t>(values->size()) == result.getNumElements() &&
        llvm::all_of(*values, [](auto v) { return v.has_value(); }))
      return DenseElementsAttr::get(
          result,
          ArrayRef<int64_t>(llvm::to_vector(llvm::map_range(
              *values, [](auto v) { return static_cast<int64_t>(*v); }))));
  }
  DenseElementsAttr data = getSmallDense(adaptor.getData());
  auto indices =
      dyn_cast_if_present<DenseIntElementsAttr>(adaptor.getIndices());
  RankedTensorType result = getFoldableResultType(getType());
  if (!data || !indices || !result || !data.getType().hasStaticShape())
    return {};
  int64_t axis = static_cast<int64_t>(getAxis());
  ArrayRef<int64_t> dataShape = data.getType().getShape();
  int64_t outer = 1, inner = 1, dim = dataShape[axis];
  for (int64_t d = 0; d < axis; ++d)
    outer *= dataShape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(dataShape.size()); ++d)
    inner *= dataShape[d];
  auto values = llvm::to_vector(data.getValues<Attribute>());
  SmallVector<Attribute> out;
  out.reserve(result.getNumElements());
  for (int64_t o = 0; o < outer; ++o)
    for (const APInt &index : indices.getValues<APInt>()) {
      int64_t i = index.getSExtValue();
      if (i < 0)
        i += dim;
      if (i < 0 || i >= dim)
        return {};
      for (int64_t j = 0; j < inner; ++j)
        out.push_back(data.isSplat() ? values[0]
                                     : values[(o * dim + i) * inner + j]);
    }
  return DenseElementsAttr::get(result, out);
}
