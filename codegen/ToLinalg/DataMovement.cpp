//===- DataMovement.cpp - Data movement and shape-producing ops to tensor -===//
#include "Common.h"
#include "bathy/Dialect/Bathy/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace bathy::codegen {
namespace {

using utils::IteratorType;

Value indexToI64(OpBuilder &b, Location loc, Value v) {
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
}
Value i64ToIndex(OpBuilder &b, Location loc, Value v) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

/// tensor.reshape of `x` to `type`, whose dims are given as i64 values.
Value reshapeTo(OpBuilder &b, Location loc, Value x, RankedTensorType type,
                ArrayRef<Value> dims) {
  Value shape = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({(int64_t)dims.size()}, b.getI64Type()),
      dims);
  return tensor::ReshapeOp::create(b, loc, type, x, shape);
}

/// "[2, ?, 4]" for messages.
std::string describeShape(RankedTensorType type) {
  std::string out = "[";
  for (int64_t d = 0; d < type.getRank(); ++d)
    out += (d ? ", " : "") + (type.isDynamicDim(d)
                                  ? std::string("?")
                                  : std::to_string(type.getDimSize(d)));
  return out + "]";
}

/// Number of elements of `x` as i64.
Value numElements(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = 0; d < type.getRank(); ++d)
    n = arith::MulIOp::create(b, loc, n, dimValue(b, loc, x, d));
  return indexToI64(b, loc, n);
}

struct ConstantLowering : OpRewritePattern<ConstantOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConstantOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, cast<TypedAttr>(op.getValue()));
    return success();
  }
};

struct TransposeLowering : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!out || !isa<RankedTensorType>(op.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    ArrayRef<int64_t> perm = op.getPerm();
    Value init =
        emptyTensor(rewriter, loc, out,
                    shape::transpose<SizeRef>(sizesOf(op.getInput()), perm));
    rewriter.replaceOp(op, linalg::TransposeOp::create(
                               rewriter, loc, op.getInput(), init, perm)
                               .getResults());
    return success();
  }
};

/// reshape, squeeze, unsqueeze: the result type pins all dims but at most
/// one, which is the element count over the product of the others.
template <typename OpTy> struct StaticReshapeLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    Value x = op->getOperand(0);
    auto in = dyn_cast<RankedTensorType>(x.getType());
    if (!out || !in)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    SmallVector<Value> dims;
    if constexpr (std::is_same_v<OpTy, SqueezeOp> ||
                  std::is_same_v<OpTy, UnsqueezeOp>) {
      // Dims come from the input's, around the removed/added unit dims.
      SmallVector<SizeRef> sizes;
      if constexpr (std::is_same_v<OpTy, SqueezeOp>)
        sizes = shape::squeeze<SizeRef>(sizesOf(x), op.getAxes());
      else
        sizes = shape::unsqueeze<SizeRef>(sizesOf(x), op.getAxes(),
                                          SizeRef::constant(1));
      for (const SizeRef &size : sizes)
        dims.push_back(
            indexToI64(rewriter, loc, size.materialize(rewriter, loc)));
    } else {
      // The one open dim is what is left of the element count
      // (shape::reshapeInferredDim, as inference computes it); the count
      // must divide exactly (and with a 0 among the static dims, be 0).
      RuntimeArith ops{rewriter, loc};
      SmallVector<Value> inSizes, outSizes;
      for (const SizeRef &size : sizesOf(x))
        inSizes.push_back(
            indexToI64(rewriter, loc, size.materialize(rewriter, loc)));
      for (int64_t d : out.getShape())
        outSizes.push_back(ops.constant(ShapedType::isDynamic(d) ? 1 : d));
      size_t open = llvm::find_if(out.getShape(), ShapedType::isDynamic) -
                    out.getShape().begin();
      Value count, known;
      Value missing = *shape::reshapeInferredDim<Value>(
          inSizes, outSizes, open, ops.constant(1),
          [&](Value a, Value b) { return ops.mul(a, b); },
          [&](Value total, Value k) -> std::optional<Value> {
            count = total;
            known = k;
            // A zero product leaves nothing to divide: the check below
            // then needs the count to be 0.
            Value zero = ops.constant(0);
            return ops.divs(total,
                            ops.select(ops.ne(k, zero), k, ops.constant(1)));
          });
      if (!out.hasStaticShape()) {
        Value rebuilt = arith::MulIOp::create(rewriter, loc, missing, known);
        emitCheck(rewriter, loc,
                  arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                        rebuilt, count),
                  "cannot reshape {0} elements into " + describeShape(out),
                  ValueRange{count});
      } else if (!in.hasStaticShape()) {
        emitCheck(rewriter, loc,
                  arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                        known, count),
                  "cannot reshape {0} elements into " + describeShape(out),
                  ValueRange{count});
      }
      for (int64_t d : out.getShape())
        dims.push_back(
            ShapedType::isDynamic(d)
                ? missing
                : Value(arith::ConstantIntOp::create(rewriter, loc, d, 64)));
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, x, out, dims));
    return success();
  }
};

/// ONNX Reshape with a run-time shape: 0 copies the input's dim, -1 takes
/// the remaining element count.
struct DynamicReshapeLowering : OpRewritePattern<DynamicReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DynamicReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!out || !in)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    Value x = op.getInput();
    Value zero = arith::ConstantIntOp::create(rewriter, loc, 0, 64);
    Value minusOne = arith::ConstantIntOp::create(rewriter, loc, -1, 64);
    Value one = arith::ConstantIntOp::create(rewriter, loc, 1, 64);
    SmallVector<Value> dims;
    for (int64_t d = 0; d < out.getRank(); ++d) {
      Value idx = arith::ConstantIndexOp::create(rewriter, loc, d);
      Value v = tensor::ExtractOp::create(rewriter, loc, op.getShape(), idx);
      if (!op.getAllowzero() && d < in.getRank()) {
        Value isZero = arith::CmpIOp::create(rewriter, loc,
                                             arith::CmpIPredicate::eq, v, zero);
        v = arith::SelectOp::create(
            rewriter, loc, isZero,
            indexToI64(rewriter, loc, dimValue(rewriter, loc, x, d)), v);
      }
      dims.push_back(v);
    }
    // Entries are sizes or one -1: the product of the others (overflow
    // checked) must equal the element count, or divide it when there is a
    // -1, which then takes the quotient (shape::reshapeInferredDim, with
    // the -1 counted as 1 wherever it is: its place is known only now).
    SmallVector<Value> others;
    Value inferCount = zero;
    for (auto [d, v] : llvm::enumerate(dims)) {
      Value isInfer = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::eq, v, minusOne);
      Value valid = arith::OrIOp::create(
          rewriter, loc, isInfer,
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sge, v,
                                zero));
      emitCheck(rewriter, loc, valid,
                "shape entry " + Twine(d) + " is {0}; entries must be >= -1",
                ValueRange{v});
      inferCount = arith::AddIOp::create(
          rewriter, loc, inferCount,
          arith::ExtUIOp::create(rewriter, loc, rewriter.getI64Type(),
                                 isInfer));
      others.push_back(arith::SelectOp::create(rewriter, loc, isInfer, one, v));
    }
    SmallVector<Value> inSizes;
    for (const SizeRef &size : sizesOf(x))
      inSizes.push_back(
          indexToI64(rewriter, loc, size.materialize(rewriter, loc)));
    Value overflow = arith::ConstantIntOp::create(rewriter, loc, 0, 1);
    Value count, product;
    Value inferred = *shape::reshapeInferredDim<Value>(
        inSizes, others, others.size(), one,
        [&](Value a, Value b) {
          auto mul = arith::MulUIExtendedOp::create(rewriter, loc, a, b);
          overflow = arith::OrIOp::create(
              rewriter, loc, overflow,
              arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ne,
                                    mul.getHigh(), zero));
          return mul.getLow();
        },
        [&](Value total, Value known) -> std::optional<Value> {
          count = total;
          product = known;
          Value productIsZero = arith::CmpIOp::create(
              rewriter, loc, arith::CmpIPredicate::eq, known, zero);
          Value divisor =
              arith::SelectOp::create(rewriter, loc, productIsZero, one, known);
          return Value(arith::DivSIOp::create(rewriter, loc, total, divisor));
        });
    emitCheck(rewriter, loc,
              arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ule,
                                    inferCount, one),
              "the shape has {0} entries of -1; at most one may be",
              ValueRange{inferCount});
    emitCheck(rewriter, loc,
              arith::XOrIOp::create(
                  rewriter, loc, overflow,
                  arith::ConstantIntOp::create(rewriter, loc, 1, 1)),
              "the sizes of the shape overflow");
    Value hasInfer = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::eq, inferCount, one);
    Value productIsZero = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::eq, product, zero);
    // With a -1: product * inferred == count and product != 0 (a -1 next
    // to a 0 is ambiguous); without: product == count.
    Value exact = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::eq,
        arith::MulIOp::create(rewriter, loc, inferred, product), count);
    Value okInfer = arith::AndIOp::create(
        rewriter, loc, exact,
        arith::XOrIOp::create(
            rewriter, loc, productIsZero,
            arith::ConstantIntOp::create(rewriter, loc, 1, 1)));
    Value okPlain = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::eq, product, count);
    emitCheck(
        rewriter, loc,
        arith::SelectOp::create(rewriter, loc, hasInfer, okInfer, okPlain),
        "cannot reshape {0} elements into a shape whose sizes (other "
        "than -1) multiply to {1}",
        ValueRange{count, product});
    for (Value &v : dims) {
      Value isInfer = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::eq, v, minusOne);
      v = arith::SelectOp::create(rewriter, loc, isInfer, inferred, v);
    }
    // Static dims of the result type were inferred from the shape: a
    // run-time shape must agree with them.
    for (auto [d, v] : llvm::enumerate(dims)) {
      if (out.isDynamicDim(d))
        continue;
      Value want =
          arith::ConstantIntOp::create(rewriter, loc, out.getDimSize(d), 64);
      emitCheck(rewriter, loc,
                arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                      v, want),
                "result dim " + Twine(d) + " is {0}, but {1} was inferred",
                ValueRange{v, want});
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, x, out, dims));
    return success();
  }
};

struct ConcatLowering : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!out || llvm::any_of(op.getInputs().getTypes(),
                             [](Type t) { return !isa<RankedTensorType>(t); }))
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    // Empty pieces contribute nothing (and would sit at an out-of-bounds
    // offset).
    int64_t axis = static_cast<int64_t>(op.getAxis());
    SmallVector<Value> pieces;
    for (Value v : op.getInputs())
      if (cast<RankedTensorType>(v.getType()).getDimSize(axis) != 0)
        pieces.push_back(v);
    if (pieces.empty())
      pieces.push_back(op.getInputs().front());
    // Every input has the result's size in the other dims.
    Location loc = op.getLoc();
    for (int64_t d = 0; d < out.getRank(); ++d) {
      if (d == axis)
        continue;
      Value want = out.isDynamicDim(d)
                       ? dimValue(rewriter, loc, op.getInputs().front(), d)
                       : Value(arith::ConstantIndexOp::create(
                             rewriter, loc, out.getDimSize(d)));
      for (auto [i, v] : llvm::enumerate(op.getInputs())) {
        auto t = cast<RankedTensorType>(v.getType());
        if (!t.isDynamicDim(d) && !out.isDynamicDim(d))
          continue;
        if (i == 0 && out.isDynamicDim(d))
          continue;
        Value have = dimValue(rewriter, loc, v, d);
        emitCheck(rewriter, loc, sameSize(rewriter, loc, have, want),
                  "input " + Twine(i) + " has size {0} in dim " + Twine(d) +
                      ", input 0 has {1}",
                  ValueRange{have, want});
      }
    }
    if (pieces.size() == 1 && pieces[0].getType() == out) {
      rewriter.replaceOp(op, pieces[0]);
      return success();
    }
    rewriter.replaceOpWithNewOp<tensor::ConcatOp>(op, out, axis, pieces);
    return success();
  }
};

/// Static-bounds strided slices (positive steps) and split.
Value extractSlice(OpBuilder &b, Location loc, Value x, RankedTensorType out,
                   ArrayRef<int64_t> axes, ArrayRef<int64_t> offsets,
                   ArrayRef<int64_t> steps) {
  auto in = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> off, size, stride;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    auto it = llvm::find(axes, d);
    if (it == axes.end()) {
      off.push_back(b.getIndexAttr(0));
      size.push_back(in.isDynamicDim(d) ? OpFoldResult(dimValue(b, loc, x, d))
                                        : b.getIndexAttr(in.getDimSize(d)));
      stride.push_back(b.getIndexAttr(1));
      continue;
    }
    size_t i = it - axes.begin();
    off.push_back(b.getIndexAttr(offsets[i]));
    size.push_back(b.getIndexAttr(out.getDimSize(d)));
    stride.push_back(b.getIndexAttr(steps[i]));
  }
  return tensor::ExtractSliceOp::create(b, loc, out, x, off, size, stride);
}

/// out[..., i_d, ...] = x[..., offset_d + i_d * step_d, ...] along `axes`
/// (steps of any sign; offsets are index values already in bounds), as a
/// generic reading with tensor.extract: for negative steps, which
/// tensor.extract_slice cannot express.
Value stridedRead(OpBuilder &b, Location loc, Value x, RankedTensorType out,
                  ArrayRef<int64_t> axes, ArrayRef<Value> offsets,
                  ArrayRef<int64_t> steps, ArrayRef<Value> counts) {
  int64_t rank = out.getRank();
  MLIRContext *ctx = b.getContext();
  Value init = emptyTensor(b, loc, out, [&](int64_t d) -> Value {
    const auto *it = llvm::find(axes, d);
    if (it != axes.end())
      return counts[it - axes.begin()];
    return dimValue(b, loc, x, d);
  });
  return linalg::GenericOp::create(
             b, loc, TypeRange{out}, ValueRange{}, ValueRange{init},
             {AffineMap::getMultiDimIdentityMap(rank, ctx)},
             SmallVector<IteratorType>(rank, IteratorType::parallel), "", "",
             [&](OpBuilder &nb, Location l, ValueRange) {
               SmallVector<Value> coords;
               for (int64_t d = 0; d < rank; ++d) {
                 Value i = linalg::IndexOp::create(nb, l, d);
                 const auto *it = llvm::find(axes, d);
                 if (it != axes.end()) {
                   size_t k = it - axes.begin();
                   Value step = arith::ConstantIndexOp::create(nb, l, steps[k]);
                   i = arith::AddIOp::create(
                       nb, l, offsets[k],
                       arith::MulIOp::create(nb, l, i, step));
                 }
                 coords.push_back(i);
               }
               linalg::YieldOp::create(
                   nb, l, Value(tensor::ExtractOp::create(nb, l, x, coords)));
             })
      .getResult(0);
}

struct SliceLowering : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!out || !in)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    SmallVector<int64_t> offsets;
    bool negative = false;
    StaticArith staticArith;
    for (auto [axis, start, end, step] :
         llvm::zip(op.getAxes(), op.getStarts(), op.getEnds(), op.getSteps())) {
      int64_t dim = in.getDimSize(axis);
      if (ShapedType::isDynamic(dim) || out.isDynamicDim(axis))
        return rewriter.notifyMatchFailure(op, "slices of dynamic dims");
      negative |= step < 0;
      offsets.push_back(
          shape::sliceAxis(staticArith, dim, start, end, step).offset);
    }
    Location loc = op.getLoc();
    if (!negative) {
      rewriter.replaceOp(op,
                         extractSlice(rewriter, loc, op.getInput(), out,
                                      op.getAxes(), offsets, op.getSteps()));
      return success();
    }
    SmallVector<Value> offsetValues, counts;
    for (auto [axis, offset] : llvm::zip(op.getAxes(), offsets)) {
      offsetValues.push_back(
          arith::ConstantIndexOp::create(rewriter, loc, offset));
      counts.push_back(
          arith::ConstantIndexOp::create(rewriter, loc, out.getDimSize(axis)));
    }
    rewriter.replaceOp(op, stridedRead(rewriter, loc, op.getInput(), out,
                                       op.getAxes(), offsetValues,
                                       op.getSteps(), counts));
    return success();
  }
};

/// Run-time bounds: offsets and sizes computed with ONNX's clamping, then
/// one tensor.extract_slice (positive steps) or a strided read.
struct DynamicSliceLowering : OpRewritePattern<DynamicSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DynamicSliceOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!out || !in)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto bound = [&](Value tensor, size_t i) -> Value {
      Value v = tensor::ExtractOp::create(
          rewriter, loc, tensor,
          ValueRange{arith::ConstantIndexOp::create(rewriter, loc, i)});
      if (!v.getType().isInteger(64))
        v = arith::ExtSIOp::create(rewriter, loc, rewriter.getI64Type(), v);
      return v;
    };
    RuntimeArith ops{rewriter, loc};
    bool negative =
        llvm::any_of(op.getSteps(), [](int64_t s) { return s < 0; });
    SmallVector<OpFoldResult> off, size, stride;
    // Per entry of the op's axes (in that order), for the strided read.
    SmallVector<Value> offsets(op.getAxes().size()),
        counts(op.getAxes().size());
    for (int64_t d = 0; d < in.getRank(); ++d) {
      auto it = llvm::find(op.getAxes(), d);
      if (it == op.getAxes().end()) {
        off.push_back(rewriter.getIndexAttr(0));
        size.push_back(in.isDynamicDim(d)
                           ? OpFoldResult(dimValue(rewriter, loc, x, d))
                           : rewriter.getIndexAttr(in.getDimSize(d)));
        stride.push_back(rewriter.getIndexAttr(1));
        continue;
      }
      size_t i = it - op.getAxes().begin();
      int64_t step = op.getSteps()[i];
      Value dim = indexToI64(rewriter, loc, dimValue(rewriter, loc, x, d));
      auto [start, count] = shape::sliceAxis(ops, dim, bound(op.getStarts(), i),
                                             bound(op.getEnds(), i), step);
      off.push_back(i64ToIndex(rewriter, loc, start));
      size.push_back(i64ToIndex(rewriter, loc, count));
      stride.push_back(rewriter.getIndexAttr(step));
      offsets[i] = i64ToIndex(rewriter, loc, start);
      counts[i] = i64ToIndex(rewriter, loc, count);
    }
    if (negative) {
      rewriter.replaceOp(op, stridedRead(rewriter, loc, x, out, op.getAxes(),
                                         offsets, op.getSteps(), counts));
      return success();
    }
    Value slice =
        tensor::ExtractSliceOp::create(rewriter, loc, x, off, size, stride);
    if (slice.getType() != out)
      slice = tensor::CastOp::create(rewriter, loc, out, slice);
    rewriter.replaceOp(op, slice);
    return success();
  }
};

struct SplitLowering : OpRewritePattern<SplitOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SplitOp op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!in)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    int64_t axis = static_cast<int64_t>(op.getAxis());
    SmallVector<Value> parts;
    int64_t offset = 0;
    for (auto [result, size] : llvm::zip(op.getResults(), op.getSizes())) {
      auto out = dyn_cast<RankedTensorType>(result.getType());
      if (!out || out.isDynamicDim(axis))
        return rewriter.notifyMatchFailure(
            op, "a result with a dynamic size along the split axis");
      // An empty piece may start anywhere; 0 keeps the offset in bounds.
      parts.push_back(extractSlice(rewriter, op.getLoc(), op.getInput(), out,
                                   {axis}, {size == 0 ? 0 : offset}, {1}));
      offset += size;
    }
    rewriter.replaceOp(op, parts);
    return success();
  }
};

/// Every value of `indices` (an integer tensor) must lie in [-size, size):
/// constant indices are checked now (one out of range becomes a check that
/// always fails, reported when the kernel runs), others at run time from
/// their minimum and maximum (one pass over the indices before the gather
/// reads any data).
void checkIndicesInRange(PatternRewriter &rewriter, Location loc, Value indices,
                         Value size, int64_t axis) {
  auto type = cast<RankedTensorType>(indices.getType());
  auto elem = cast<IntegerType>(type.getElementType());
  std::string what = "index {0} is out of range for axis " +
                     std::to_string(axis) + " of size {1}";
  DenseIntElementsAttr constant;
  std::optional<int64_t> staticSize = getConstantIntValue(size);
  if (matchPattern(indices, m_Constant(&constant)) && staticSize) {
    for (const APInt &v : constant.getValues<APInt>()) {
      int64_t i = v.getSExtValue();
      if (i >= -*staticSize && i < *staticSize)
        continue;
      emitCheck(rewriter, loc,
                arith::ConstantIntOp::create(rewriter, loc, 0, 1), what,
                ValueRange{arith::ConstantIntOp::create(rewriter, loc, i, 64),
                           arith::ConstantIntOp::create(rewriter, loc,
                                                        *staticSize, 64)});
      break;
    }
    return;
  }
  MLIRContext *ctx = rewriter.getContext();
  int64_t rank = type.getRank();
  auto scalar = RankedTensorType::get({}, elem);
  int64_t width = elem.getWidth();
  Value lo = filledTensor(
      rewriter, loc, scalar, {},
      arith::ConstantOp::create(
          rewriter, loc,
          rewriter.getIntegerAttr(elem, APInt::getSignedMaxValue(width))));
  Value hi = filledTensor(
      rewriter, loc, scalar, {},
      arith::ConstantOp::create(
          rewriter, loc,
          rewriter.getIntegerAttr(elem, APInt::getSignedMinValue(width))));
  AffineMap all = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap none = AffineMap::get(rank, 0, {}, ctx);
  auto bounds = linalg::GenericOp::create(
      rewriter, loc, TypeRange{scalar, scalar}, ValueRange{indices},
      ValueRange{lo, hi}, {all, none, none},
      SmallVector<IteratorType>(rank, IteratorType::reduction), "", "",
      [&](OpBuilder &b, Location l, ValueRange a) {
        linalg::YieldOp::create(
            b, l,
            ValueRange{arith::MinSIOp::create(b, l, a[0], a[1]),
                       arith::MaxSIOp::create(b, l, a[0], a[2])});
      });
  Type i64 = rewriter.getI64Type();
  auto widen = [&](Value v) -> Value {
    v = tensor::ExtractOp::create(rewriter, loc, v, ValueRange{});
    return width < 64 ? Value(arith::ExtSIOp::create(rewriter, loc, i64, v))
                      : v;
  };
  Value min = widen(bounds.getResult(0)), max = widen(bounds.getResult(1));
  Value n = indexToI64(rewriter, loc, size);
  Value negN = arith::SubIOp::create(
      rewriter, loc, arith::ConstantIntOp::create(rewriter, loc, 0, 64), n);
  Value maxOk =
      arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt, max, n);
  Value minOk = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sge,
                                      min, negN);
  Value culprit = arith::SelectOp::create(rewriter, loc, maxOk, min, max);
  emitCheck(rewriter, loc, arith::AndIOp::create(rewriter, loc, maxOk, minOk),
            what, ValueRange{culprit, n});
}

/// An ONNX gather index as an in-bounds `index`: negative values count from
/// the end, and anything still outside [0, size) is clamped, so a hostile
/// index (a token id past the vocabulary) cannot read outside the buffer.
Value axisIndex(OpBuilder &b, Location l, Value raw, Value size) {
  Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value one = arith::ConstantIndexOp::create(b, l, 1);
  Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, l, neg, arith::AddIOp::create(b, l, i, size),
                              i);
  i = arith::MaxSIOp::create(b, l, i, zero);
  return arith::MinSIOp::create(b, l, i,
                                arith::SubIOp::create(b, l, size, one));
}

struct GatherLowering : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto data = dyn_cast<RankedTensorType>(op.getData().getType());
    auto idx = dyn_cast<RankedTensorType>(op.getIndices().getType());
    if (!out || !data || !idx)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    int64_t r = out.getRank(), q = idx.getRank();
    SmallVector<AffineExpr> idxExprs;
    for (int64_t j = 0; j < q; ++j)
      idxExprs.push_back(getAffineDimExpr(axis + j, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(r, 0, idxExprs, ctx),
                                   AffineMap::getMultiDimIdentityMap(r, ctx)};
    Value init =
        emptyTensor(rewriter, loc, out,
                    shape::gather<SizeRef>(sizesOf(op.getData()),
                                           sizesOf(op.getIndices()), axis));
    Value axisSize = dimValue(rewriter, loc, op.getData(), axis);
    checkIndicesInRange(rewriter, loc, op.getIndices(), axisSize, axis);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{out}, ValueRange{op.getIndices()},
        ValueRange{init}, maps,
        SmallVector<IteratorType>(r, IteratorType::parallel), "", "",
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value i = axisIndex(b, l, a[0], axisSize);
          SmallVector<Value> coords;
          for (int64_t d = 0; d < data.getRank(); ++d) {
            if (d < axis)
              coords.push_back(linalg::IndexOp::create(b, l, d));
            else if (d == axis)
              coords.push_back(i);
            else
              coords.push_back(linalg::IndexOp::create(b, l, d + q - 1));
          }
          linalg::YieldOp::create(
              b, l,
              Value(tensor::ExtractOp::create(b, l, op.getData(), coords)));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct GatherElementsLowering : OpRewritePattern<GatherElementsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherElementsOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto data = dyn_cast<RankedTensorType>(op.getData().getType());
    if (!out || !data)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    int64_t r = out.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, op.getContext());
    Value init = emptyTensor(rewriter, loc, out, [&](int64_t d) -> Value {
      return dimValue(rewriter, loc, op.getIndices(), d);
    });
    Value axisSize = dimValue(rewriter, loc, op.getData(), axis);
    checkIndicesInRange(rewriter, loc, op.getIndices(), axisSize, axis);
    // Off the axis, indices read data at their own position.
    for (int64_t d = 0; d < r; ++d) {
      if (d == axis)
        continue;
      Value have = dimValue(rewriter, loc, op.getIndices(), d);
      Value bound = dimValue(rewriter, loc, op.getData(), d);
      emitCheck(rewriter, loc,
                arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ule,
                                      have, bound),
                "the indices have size {0} in dim " + Twine(d) +
                    ", more than the data's {1}",
                ValueRange{have, bound});
    }
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{out}, ValueRange{op.getIndices()},
        ValueRange{init}, SmallVector<AffineMap>{id, id},
        SmallVector<IteratorType>(r, IteratorType::parallel), "", "",
        [&](OpBuilder &b, Location l, ValueRange a) {
          SmallVector<Value> coords;
          for (int64_t d = 0; d < r; ++d)
            coords.push_back(d == axis
                                 ? axisIndex(b, l, a[0], axisSize)
                                 : Value(linalg::IndexOp::create(b, l, d)));
          linalg::YieldOp::create(
              b, l,
              Value(tensor::ExtractOp::create(b, l, op.getData(), coords)));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// Pad: constant mode is a slice for the crops (negative pads), then
/// tensor.pad; reflect, edge and wrap are a generic reading the input at a
/// mapped index j = i - begin: edge clamps it, reflect mirrors it without
/// repeating the border (period 2(n - 1)), wrap takes it mod n.
struct PadLowering : OpRewritePattern<PadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PadOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!out || !in)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    int64_t rank = out.getRank();
    ArrayRef<int64_t> pads = op.getPads();
    StringRef mode = op.getMode();
    Value value = scalarConstant(rewriter, loc, out.getElementType(),
                                 op.getValue().convertToDouble());
    if (mode == "constant") {
      // Crops (negative pads) first, as a slice; then tensor.pad.
      Value x = op.getInput();
      if (llvm::any_of(pads, [](int64_t p) { return p < 0; })) {
        SmallVector<OpFoldResult> offsets, sizes, strides;
        Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
        for (int64_t d = 0; d < rank; ++d) {
          Value n = dimValue(rewriter, loc, x, d);
          int64_t cropBegin = std::max<int64_t>(0, -pads[d]);
          int64_t cropEnd = std::max<int64_t>(0, -pads[d + rank]);
          Value begin = arith::MinSIOp::create(
              rewriter, loc, n,
              arith::ConstantIndexOp::create(rewriter, loc, cropBegin));
          Value size = arith::MaxSIOp::create(
              rewriter, loc, zero,
              arith::SubIOp::create(rewriter, loc, n,
                                    arith::ConstantIndexOp::create(
                                        rewriter, loc, cropBegin + cropEnd)));
          offsets.push_back(begin);
          sizes.push_back(size);
          strides.push_back(rewriter.getIndexAttr(1));
        }
        x = tensor::ExtractSliceOp::create(rewriter, loc, x, offsets, sizes,
                                           strides);
      }
      auto attrs = [&](ArrayRef<int64_t> v) {
        return llvm::to_vector(
            llvm::map_range(v, [&](int64_t p) -> OpFoldResult {
              return rewriter.getIndexAttr(std::max<int64_t>(p, 0));
            }));
      };
      // The result type tensor.pad infers, cast to the op's.
      Value padded = tensor::PadOp::create(
          rewriter, loc, RankedTensorType(), x, attrs(pads.take_front(rank)),
          attrs(pads.drop_front(rank)), value, /*nofold=*/false);
      if (padded.getType() != out)
        padded = tensor::CastOp::create(rewriter, loc, out, padded);
      rewriter.replaceOp(op, padded);
      return success();
    }
    Value x = op.getInput();
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < rank; ++d)
      sizes.push_back(dimValue(rewriter, loc, x, d));
    // A padded dim needs an element to repeat (a single one reflects onto
    // itself, as in NumPy).
    for (int64_t d = 0; d < rank; ++d) {
      if (pads[d] <= 0 && pads[d + rank] <= 0)
        continue;
      Value ok = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::sge, sizes[d],
          arith::ConstantIndexOp::create(rewriter, loc, 1));
      emitCheck(rewriter, loc, ok,
                Twine(mode) + " padding of dim " + Twine(d) +
                    " needs an element to repeat, but the dim is empty",
                ValueRange{});
    }
    Value init = emptyTensor(rewriter, loc, out, [&](int64_t d) -> Value {
      Value total = arith::ConstantIndexOp::create(rewriter, loc,
                                                   pads[d] + pads[d + rank]);
      Value size = arith::AddIOp::create(rewriter, loc, sizes[d], total);
      // A crop larger than the dim leaves nothing (not a negative size).
      return arith::MaxSIOp::create(
          rewriter, loc, size,
          arith::ConstantIndexOp::create(rewriter, loc, 0));
    });
    MLIRContext *ctx = op.getContext();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{out}, ValueRange{}, ValueRange{init},
        {AffineMap::getMultiDimIdentityMap(rank, ctx)},
        SmallVector<IteratorType>(rank, IteratorType::parallel), "", "",
        [&](OpBuilder &b, Location l, ValueRange) {
          Value zero = arith::ConstantIndexOp::create(b, l, 0);
          Value one = arith::ConstantIndexOp::create(b, l, 1);
          SmallVector<Value> coords;
          for (int64_t d = 0; d < rank; ++d) {
            Value i = linalg::IndexOp::create(b, l, d);
            Value j = arith::SubIOp::create(
                b, l, i, arith::ConstantIndexOp::create(b, l, pads[d]));
            Value n = sizes[d];
            Value last = arith::SubIOp::create(b, l, n, one);
            if (mode == "edge") {
              j = arith::MinSIOp::create(
                  b, l, arith::MaxSIOp::create(b, l, j, zero), last);
            } else if (mode == "wrap") {
              Value r = arith::RemSIOp::create(b, l, j, n);
              Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt,
                                                r, zero);
              j = arith::SelectOp::create(b, l, neg,
                                          arith::AddIOp::create(b, l, r, n), r);
            } else { // reflect: period 2(n - 1) (1 when n = 1), mirrored
              Value period = arith::MaxSIOp::create(
                  b, l, arith::AddIOp::create(b, l, last, last), one);
              Value r = arith::RemSIOp::create(b, l, j, period);
              Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt,
                                                r, zero);
              r = arith::SelectOp::create(
                  b, l, neg, arith::AddIOp::create(b, l, r, period), r);
              Value upper = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::sgt, r, last);
              j = arith::SelectOp::create(
                  b, l, upper, arith::SubIOp::create(b, l, period, r), r);
            }
            coords.push_back(j);
          }
          linalg::YieldOp::create(
              b, l, Value(tensor::ExtractOp::create(b, l, x, coords)));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct ExpandLowering : OpRewritePattern<ExpandOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpandOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!out || !in)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    int64_t rank = out.getRank();
    int64_t shapeLen =
        cast<RankedTensorType>(op.getShape().getType()).getDimSize(0);
    // Result sizes: the input's size unless it is 1, then the target's.
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < rank; ++d) {
      if (!out.isDynamicDim(d)) {
        sizes.push_back(
            arith::ConstantIndexOp::create(rewriter, loc, out.getDimSize(d)));
        continue;
      }
      Value target = arith::ConstantIndexOp::create(rewriter, loc, 1);
      int64_t j = d - (rank - shapeLen);
      if (j >= 0)
        target = i64ToIndex(
            rewriter, loc,
            tensor::ExtractOp::create(
                rewriter, loc, op.getShape(),
                ValueRange{arith::ConstantIndexOp::create(rewriter, loc, j)}));
      int64_t i = d - (rank - in.getRank());
      if (i < 0) {
        sizes.push_back(target);
        continue;
      }
      Value size = dimValue(rewriter, loc, op.getInput(), i);
      Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
      Value isOne = sameSize(rewriter, loc, size, one);
      // Bidirectional broadcast: either side may be 1, else they agree.
      emitCheck(rewriter, loc,
                arith::OrIOp::create(
                    rewriter, loc, isOne,
                    arith::OrIOp::create(
                        rewriter, loc, sameSize(rewriter, loc, target, one),
                        sameSize(rewriter, loc, target, size))),
                "the input's dim " + Twine(i) +
                    " of size {0} does not broadcast to the shape's {1}",
                ValueRange{size, target});
      // The size is the broadcast rule's (shape::broadcastDim, input then
      // target), which agrees with the check above wherever it passes.
      SizeRef pair[] = {SizeRef::dimOf(op.getInput(), i),
                        SizeRef::index(target)};
      SmallVector<ArrayRef<SizeRef>> operands = {ArrayRef(pair[0]),
                                                 ArrayRef(pair[1])};
      sizes.push_back(shape::broadcastDim<SizeRef>(
                          operands, 1, 0, SizeRef::constant(1),
                          [&](const SizeRef &acc, const SizeRef &next) {
                            return joinBroadcastSizes(rewriter, loc, acc, next);
                          })
                          ->materialize(rewriter, loc));
    }
    // A static result dim was inferred from the shape operand's values; a
    // run-time shape must agree with it.
    for (int64_t d = 0; d < rank; ++d) {
      int64_t j = d - (rank - shapeLen);
      int64_t i = d - (rank - in.getRank());
      if (!out.isDynamicDim(d) && j >= 0) {
        Value target = i64ToIndex(
            rewriter, loc,
            tensor::ExtractOp::create(
                rewriter, loc, op.getShape(),
                ValueRange{arith::ConstantIndexOp::create(rewriter, loc, j)}));
        Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
        Value ok = sameSize(rewriter, loc, target, sizes[d]);
        // Where the input has a size that is not 1, the target may be 1.
        if (i >= 0 && in.getDimSize(i) != 1)
          ok = arith::OrIOp::create(rewriter, loc, ok,
                                    sameSize(rewriter, loc, target, one));
        if (i >= 0 && in.getDimSize(i) != 1)
          emitCheck(rewriter, loc, ok,
                    "the input's dim " + Twine(i) +
                        " of size {1} does not broadcast to the shape's {0}",
                    ValueRange{target, sizes[d]});
        else
          emitCheck(rewriter, loc, ok,
                    "shape entry " + Twine(j) + " is {0}, but {1} was inferred",
                    ValueRange{target, sizes[d]});
      }
    }
    // A dynamic input dim the target may stretch: broadcast at run time
    // when it turns out to be 1.
    SmallVector<int64_t> dims;
    SmallVector<Value> want;
    ArrayRef<int64_t> equal = knownEqualDims(op);
    for (int64_t i = 0; i < in.getRank(); ++i) {
      int64_t d = i + (rank - in.getRank());
      if (in.isDynamicDim(i) && !llvm::is_contained(equal, d)) {
        dims.push_back(i);
        want.push_back(sizes[d]);
      }
    }
    Value input = dims.empty() ? op.getInput()
                               : broadcastOperandAtRuntime(
                                     rewriter, loc, op.getInput(), dims, want);
    Value init =
        emptyTensor(rewriter, loc, out, [&](int64_t d) { return sizes[d]; });
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineMap> maps = {
        broadcastMap(ctx, rank, in, out),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    rewriter.replaceOp(
        op, linalg::GenericOp::create(
                rewriter, loc, TypeRange{out}, ValueRange{input},
                ValueRange{init}, maps,
                SmallVector<IteratorType>(rank, IteratorType::parallel), "", "",
                [](OpBuilder &b, Location l, ValueRange a) {
                  linalg::YieldOp::create(b, l, a[0]);
                })
                .getResults());
    return success();
  }
};

struct TriluLowering : OpRewritePattern<TriluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TriluOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!out || out.getElementType().isUnsignedInteger())
      return rewriter.notifyMatchFailure(
          op, "unranked, or unsigned (made signless by another pattern first)");
    Location loc = op.getLoc();
    int64_t rank = out.getRank();
    MLIRContext *ctx = op.getContext();
    Value init = emptyTensor(rewriter, loc, out, [&](int64_t d) {
      return dimValue(rewriter, loc, op.getInput(), d);
    });
    int64_t k = static_cast<int64_t>(op.getK());
    bool upper = op.getUpper();
    rewriter.replaceOp(
        op,
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{out}, ValueRange{op.getInput()},
            ValueRange{init},
            {AffineMap::getMultiDimIdentityMap(rank, ctx),
             AffineMap::getMultiDimIdentityMap(rank, ctx)},
            SmallVector<IteratorType>(rank, IteratorType::parallel), "", "",
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value row = linalg::IndexOp::create(b, l, rank - 2);
              Value col = linalg::IndexOp::create(b, l, rank - 1);
              Value diff = arith::SubIOp::create(b, l, col, row);
              Value kv = arith::ConstantIndexOp::create(b, l, k);
              Value keep = arith::CmpIOp::create(
                  b, l,
                  upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                  diff, kv);
              Value zero = scalarConstant(b, l, out.getElementType(), 0);
              linalg::YieldOp::create(
                  b, l, Value(arith::SelectOp::create(b, l, keep, a[0], zero)));
            })
            .getResults());
    return success();
  }
};

struct ConstantOfShapeLowering : OpRewritePattern<ConstantOfShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConstantOfShapeOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    auto value = dyn_cast<DenseElementsAttr>(op.getValue());
    if (!out || !value)
      return rewriter.notifyMatchFailure(op,
                                         "unranked, or not a dense constant");
    Location loc = op.getLoc();
    Value scalar = arith::ConstantOp::create(
        rewriter, loc, cast<TypedAttr>(*value.getValues<Attribute>().begin()));
    rewriter.replaceOp(op, filledTensor(
                               rewriter, loc, out,
                               [&](int64_t d) {
                                 Value v = tensor::ExtractOp::create(
                                     rewriter, loc, op.getShape(),
                                     ValueRange{arith::ConstantIndexOp::create(
                                         rewriter, loc, d)});
                                 return i64ToIndex(rewriter, loc, v);
                               },
                               scalar));
    return success();
  }
};

struct LaunchToCall : OpRewritePattern<LaunchOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LaunchOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<func::CallOp>(
        op, op.getKernelAttr(), op.getResultTypes(), op.getArgs());
    return success();
  }
};

struct ShapeLowering : OpRewritePattern<ShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ShapeOp op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!in || !out || out.isDynamicDim(0))
      return rewriter.notifyMatchFailure(
          op, "unranked, or a result of dynamic length");
    int64_t start = static_cast<int64_t>(op.getStart());
    if (start < 0)
      start += in.getRank();
    start = std::clamp<int64_t>(start, 0, in.getRank());
    SmallVector<Value> dims;
    for (int64_t i = 0; i < out.getDimSize(0); ++i)
      dims.push_back(indexToI64(
          rewriter, op.getLoc(),
          dimValue(rewriter, op.getLoc(), op.getInput(), start + i)));
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(op, out, dims);
    return success();
  }
};

struct SizeLowering : OpRewritePattern<SizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SizeOp op,
                                PatternRewriter &rewriter) const override {
    if (!isa<RankedTensorType>(op.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(
        op, cast<RankedTensorType>(op.getType()),
        ValueRange{numElements(rewriter, op.getLoc(), op.getInput())});
    return success();
  }
};

/// start + i * delta for i < max(ceil((limit - start) / delta), 0).
struct RangeLowering : OpRewritePattern<RangeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RangeOp op,
                                PatternRewriter &rewriter) const override {
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!out || out.getElementType().isUnsignedInteger())
      return rewriter.notifyMatchFailure(
          op, "unranked, or unsigned (made signless by another pattern first)");
    Location loc = op.getLoc();
    Type elem = out.getElementType();
    auto scalar = [&](Value v) {
      return tensor::ExtractOp::create(rewriter, loc, v, ValueRange{});
    };
    Value start = scalar(op.getStart()), limit = scalar(op.getLimit()),
          delta = scalar(op.getDelta());
    Value count;
    Type i64 = rewriter.getI64Type();
    Value zero64 = arith::ConstantIntOp::create(rewriter, loc, 0, 64);
    if (auto ft = dyn_cast<FloatType>(elem)) {
      Value zero = scalarConstant(rewriter, loc, elem, 0);
      emitCheck(rewriter, loc,
                arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::ONE,
                                      delta, zero),
                "delta is 0 (or NaN): the range has no end");
      Value q = math::CeilOp::create(
          rewriter, loc,
          arith::DivFOp::create(
              rewriter, loc, arith::SubFOp::create(rewriter, loc, limit, start),
              delta));
      // In f64, so that counts beyond f32's exact integers are still seen.
      Value q64 = ft.getWidth() < 64
                      ? Value(arith::ExtFOp::create(rewriter, loc,
                                                    rewriter.getF64Type(), q))
                      : q;
      Value bound = arith::ConstantOp::create(rewriter, loc,
                                              rewriter.getF64FloatAttr(0x1p62));
      // NaN compares false: a range over NaN is refused too.
      Value finite = arith::CmpFOp::create(
          rewriter, loc, arith::CmpFPredicate::OLT, q64, bound);
      emitCheck(rewriter, loc, finite,
                "the range has too many elements (or a NaN bound)");
      Value clamped = arith::MaximumFOp::create(
          rewriter, loc, q64,
          arith::ConstantOp::create(rewriter, loc,
                                    rewriter.getF64FloatAttr(0)));
      Value safe = arith::SelectOp::create(
          rewriter, loc, finite, clamped,
          arith::ConstantOp::create(rewriter, loc,
                                    rewriter.getF64FloatAttr(0)));
      count = arith::FPToSIOp::create(rewriter, loc, i64, safe);
    } else {
      // In i64 without overflow: the distance to cover, as an unsigned
      // count, divided by |delta| (rounding up).
      auto widen = [&](Value v) -> Value {
        return elem.isInteger(64)
                   ? v
                   : Value(arith::ExtSIOp::create(rewriter, loc, i64, v));
      };
      Value s64 = widen(start), l64 = widen(limit), d64 = widen(delta);
      emitCheck(rewriter, loc,
                arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ne,
                                      d64, zero64),
                "delta is 0: the range has no end");
      RuntimeArith ops{rewriter, loc};
      Value q = shape::rangeCount(ops, s64, l64, d64);
      Value fits = arith::CmpIOp::create(rewriter, loc,
                                         arith::CmpIPredicate::sge, q, zero64);
      emitCheck(rewriter, loc, fits,
                "the range from {0} to {1} has too many elements",
                ValueRange{s64, l64});
      count = q;
    }
    Value init = emptyTensor(rewriter, loc, out, [&](int64_t) {
      return i64ToIndex(rewriter, loc, count);
    });
    MLIRContext *ctx = op.getContext();
    rewriter.replaceOp(
        op,
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{out}, ValueRange{}, ValueRange{init},
            {AffineMap::getMultiDimIdentityMap(1, ctx)},
            {IteratorType::parallel}, "", "",
            [&](OpBuilder &b, Location l, ValueRange) {
              Value i = linalg::IndexOp::create(b, l, 0);
              Value iv = arith::IndexCastOp::create(b, l, b.getI64Type(), i);
              Value v;
              if (isa<FloatType>(elem)) {
                Value f = arith::SIToFPOp::create(b, l, elem, iv);
                v = arith::AddFOp::create(
                    b, l, start, arith::MulFOp::create(b, l, f, delta));
              } else {
                Value c = elem.isInteger(64)
                              ? iv
                              : Value(arith::TruncIOp::create(b, l, elem, iv));
                v = arith::AddIOp::create(
                    b, l, start, arith::MulIOp::create(b, l, c, delta));
              }
              linalg::YieldOp::create(b, l, v);
            })
            .getResults());
    return success();
  }
};

} // namespace

void populateHostToCalls(RewritePatternSet &patterns) {
  patterns.add<LaunchToCall>(patterns.getContext());
}

void populateDataMovementToLinalg(RewritePatternSet &patterns) {
  patterns
      .add<ConstantLowering, TransposeLowering,
           StaticReshapeLowering<ReshapeOp>, StaticReshapeLowering<SqueezeOp>,
           StaticReshapeLowering<UnsqueezeOp>, DynamicReshapeLowering,
           ConcatLowering, SliceLowering, DynamicSliceLowering, SplitLowering,
           GatherLowering, GatherElementsLowering, PadLowering, ExpandLowering,
           TriluLowering, ConstantOfShapeLowering, RangeLowering, ShapeLowering,
           SizeLowering>(patterns.getContext());
}

} // namespace bathy::codegen
