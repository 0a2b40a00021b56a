//===- Reduction.cpp - Reductions, softmax and norms to linalg ------------===//
//
// The reduction family: bathy.reduce_*, arg_max/arg_min, softmax and
// log_softmax, layer/RMS/batch norm (and global pooling, which is a
// reduction over the spatial dims) as reduction and map generics.
//
//===----------------------------------------------------------------------===//
#include "Common.h"
#include "bathy/Dialect/Bathy/ShapeRules.h"

#include <limits>

using namespace mlir;

namespace bathy::codegen {
namespace {

using utils::IteratorType;

Value combine(OpBuilder &b, Location loc, Combine c, Value acc, Value x) {
  bool isFloat = isa<FloatType>(x.getType());
  switch (c) {
  case Combine::Sum:
    return isFloat ? Value(arith::AddFOp::create(b, loc, acc, x))
                   : Value(arith::AddIOp::create(b, loc, acc, x));
  case Combine::Prod:
    return isFloat ? Value(arith::MulFOp::create(b, loc, acc, x))
                   : Value(arith::MulIOp::create(b, loc, acc, x));
  case Combine::Max:
    return isFloat ? Value(arith::MaximumFOp::create(b, loc, acc, x))
                   : Value(arith::MaxSIOp::create(b, loc, acc, x));
  case Combine::Min:
    return isFloat ? Value(arith::MinimumFOp::create(b, loc, acc, x))
                   : Value(arith::MinSIOp::create(b, loc, acc, x));
  }
  return {};
}

/// Reduces `input` over `axes` (sorted) with `c`, dropping those dims.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
             Combine c) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  SmallVector<AffineExpr> outExprs;
  SmallVector<IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    if (llvm::is_contained(axes, d)) {
      iterators.push_back(IteratorType::reduction);
      continue;
    }
    iterators.push_back(IteratorType::parallel);
    outExprs.push_back(b.getAffineDimExpr(d));
  }
  auto outType = RankedTensorType::get(
      shape::reduce<int64_t>(type.getShape(), axes, /*keepdims=*/false, 1),
      type.getElementType());
  SmallVector<SizeRef> sizes = shape::reduce<SizeRef>(
      sizesOf(input), axes, /*keepdims=*/false, SizeRef::constant(1));
  Value init = filledTensor(
      b, loc, outType, [&](int64_t d) { return sizes[d].materialize(b, loc); },
      identityFor(b, loc, type.getElementType(), c));
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{input}, ValueRange{init},
             maps, iterators, "", "",
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l,
                                       combine(nb, l, c, args[1], args[0]));
             })
      .getResult(0);
}

/// Number of elements over `axes` of `input`, as a scalar of `elem` type.
Value countOver(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
                Type elem) {
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d : axes)
    n = arith::MulIOp::create(b, loc, n, dimValue(b, loc, input, d));
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
  if (isa<FloatType>(elem))
    return arith::SIToFPOp::create(b, loc, elem, i64);
  return arith::TruncIOp::create(b, loc, elem, i64);
}

/// Adds unit dims at `axes` of `resultType` to a reduced value.
Value keepDims(OpBuilder &b, Location loc, Value reduced,
               RankedTensorType resultType, ArrayRef<int64_t> axes) {
  auto reducedType = cast<RankedTensorType>(reduced.getType());
  if (reducedType.getRank() == resultType.getRank())
    return reduced;
  // Each reduced dim groups with the unit dims around it; leading unit dims
  // join the first group. A rank-0 source has no groups.
  SmallVector<ReassociationIndices> groups;
  bool groupHasDim = false;
  for (int64_t d = 0; d < resultType.getRank(); ++d) {
    bool unit = llvm::is_contained(axes, d);
    if (groups.empty() || (!unit && groupHasDim)) {
      groups.emplace_back();
      groupHasDim = false;
    }
    groups.back().push_back(d);
    groupHasDim |= !unit;
  }
  if (reducedType.getRank() == 0)
    groups.clear();
  SmallVector<OpFoldResult> sizes;
  int64_t src = 0;
  for (int64_t d = 0; d < resultType.getRank(); ++d) {
    if (llvm::is_contained(axes, d)) {
      sizes.push_back(b.getIndexAttr(1));
      continue;
    }
    if (resultType.isDynamicDim(d))
      sizes.push_back(dimValue(b, loc, reduced, src));
    else
      sizes.push_back(b.getIndexAttr(resultType.getDimSize(d)));
    ++src;
  }
  return tensor::ExpandShapeOp::create(b, loc, resultType, reduced, groups,
                                       sizes);
}

/// out[i] = f(x[i], stat[i without axes]) over the full shape of `x`.
Value mapWithStats(OpBuilder &b, Location loc, Value x, ArrayRef<Value> stats,
                   ArrayRef<int64_t> statAxes,
                   function_ref<Value(OpBuilder &, Location, ValueRange)> f) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> statExprs;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(statAxes, d))
      statExprs.push_back(b.getAffineDimExpr(d));
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx)};
  for (size_t i = 0; i < stats.size(); ++i)
    maps.push_back(AffineMap::get(rank, 0, statExprs, ctx));
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<Value> inputs = {x};
  inputs.append(stats.begin(), stats.end());
  Value init = emptyTensor(b, loc, type,
                           [&](int64_t d) { return dimValue(b, loc, x, d); });
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, inputs, ValueRange{init}, maps,
             SmallVector<IteratorType>(rank, IteratorType::parallel), "", "",
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, f(nb, l, args.drop_back()));
             })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// Reduces `input` over `axes` into `outType` (sum, max, min, product, or
/// the mean), with the reduced dims kept as size 1 when `keep`.
Value reduceTo(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
               Combine c, bool mean, RankedTensorType outType, bool keep) {
  Value r = reduce(b, loc, input, axes, c);
  if (mean) {
    Type elem = outType.getElementType();
    Value n = countOver(b, loc, input, axes, elem);
    r = mapWithStats(b, loc, r, {}, {},
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       if (isa<FloatType>(elem))
                         return arith::DivFOp::create(nb, l, a[0], n);
                       return arith::DivSIOp::create(nb, l, a[0], n);
                     });
  }
  return keepDims(b, loc, r, outType, keep ? axes : ArrayRef<int64_t>());
}

template <typename OpTy, Combine C, bool Mean = false>
struct ReductionLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto inType = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto outType = dyn_cast<RankedTensorType>(op.getType());
    if (!inType || !outType || inType.getElementType().isUnsignedInteger())
      return rewriter.notifyMatchFailure(
          op, "unranked, or unsigned (made signless by another pattern first)");
    SmallVector<int64_t> axes(op.getAxes());
    if (axes.empty())
      for (int64_t d = 0; d < inType.getRank(); ++d)
        axes.push_back(d);
    rewriter.replaceOp(op, reduceTo(rewriter, op.getLoc(), op.getInput(), axes,
                                    C, Mean, outType, op.getKeepdims()));
    return success();
  }
};

/// argmax/argmin: one reduction generic carrying the best value and its
/// index; ties keep the first index (or the last with select_last_index).
template <typename OpTy, bool IsMax>
struct ArgReductionLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!in || !out || in.getElementType().isUnsignedInteger())
      return rewriter.notifyMatchFailure(
          op, "unranked, or unsigned (made signless by another pattern first)");
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    int64_t rank = in.getRank();
    Type elem = in.getElementType();
    SmallVector<AffineExpr> outExprs;
    SmallVector<IteratorType> iterators;
    for (int64_t d = 0; d < rank; ++d) {
      iterators.push_back(d == axis ? IteratorType::reduction
                                    : IteratorType::parallel);
      if (d != axis)
        outExprs.push_back(getAffineDimExpr(d, ctx));
    }
    SmallVector<int64_t> shape =
        shape::reduce<int64_t>(in.getShape(), {axis}, /*keepdims=*/false, 1);
    SmallVector<SizeRef> sizes =
        shape::reduce<SizeRef>(sizesOf(op.getInput()), {axis},
                               /*keepdims=*/false, SizeRef::constant(1));
    auto sizeOf = [&](int64_t d) {
      return sizes[d].materialize(rewriter, loc);
    };
    auto valueType = RankedTensorType::get(shape, elem);
    auto indexType = RankedTensorType::get(shape, rewriter.getI64Type());
    Value values = filledTensor(
        rewriter, loc, valueType, sizeOf,
        identityFor(rewriter, loc, elem, IsMax ? Combine::Max : Combine::Min));
    Value indices =
        filledTensor(rewriter, loc, indexType, sizeOf,
                     arith::ConstantIntOp::create(rewriter, loc, 0, 64));
    AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
    bool last = op.getSelectLastIndex();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{valueType, indexType},
        ValueRange{op.getInput()}, ValueRange{values, indices},
        {AffineMap::getMultiDimIdentityMap(rank, ctx), outMap, outMap},
        iterators, "", "", [&](OpBuilder &b, Location l, ValueRange a) {
          Value i = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
          Value better;
          if (isa<FloatType>(elem))
            better = arith::CmpFOp::create(
                b, l,
                IsMax ? (last ? arith::CmpFPredicate::OGE
                              : arith::CmpFPredicate::OGT)
                      : (last ? arith::CmpFPredicate::OLE
                              : arith::CmpFPredicate::OLT),
                a[0], a[1]);
          else
            better = arith::CmpIOp::create(
                b, l,
                IsMax ? (last ? arith::CmpIPredicate::sge
                              : arith::CmpIPredicate::sgt)
                      : (last ? arith::CmpIPredicate::sle
                              : arith::CmpIPredicate::slt),
                a[0], a[1]);
          // The first element always wins, whatever the identity compares.
          Value first =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, i,
                                    arith::ConstantIntOp::create(b, l, 0, 64));
          better = arith::OrIOp::create(b, l, better, first);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, better, a[0], a[1]),
                         arith::SelectOp::create(b, l, better, i, a[2])});
        });
    rewriter.replaceOp(op, keepDims(rewriter, loc, generic.getResult(1), out,
                                    op.getKeepdims() ? ArrayRef<int64_t>{axis}
                                                     : ArrayRef<int64_t>()));
    return success();
  }
};

/// global pools are reductions over the spatial dims, kept as size 1.
template <typename OpTy, Combine C, bool Mean>
struct GlobalPoolLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto inType = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto outType = dyn_cast<RankedTensorType>(op.getType());
    if (!inType || !outType)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    SmallVector<int64_t> axes;
    for (int64_t d = 2; d < inType.getRank(); ++d)
      axes.push_back(d);
    rewriter.replaceOp(op, reduceTo(rewriter, op.getLoc(), op.getInput(), axes,
                                    C, Mean, outType, /*keep=*/true));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Softmax and normalization
//===----------------------------------------------------------------------===//

template <typename OpTy, bool Log>
struct SoftmaxLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!isa<RankedTensorType>(op.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    Value x = op.getInput();
    Value m = reduce(rewriter, loc, x, {axis}, Combine::Max);
    Value shifted =
        mapWithStats(rewriter, loc, x, {m}, {axis},
                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                       return arith::SubFOp::create(b, l, a[0], a[1]);
                     });
    Value e = mapWithStats(rewriter, loc, shifted, {}, {},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return math::ExpOp::create(b, l, a[0]);
                           });
    Value s = reduce(rewriter, loc, e, {axis}, Combine::Sum);
    Value y =
        Log ? mapWithStats(rewriter, loc, shifted, {s}, {axis},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::SubFOp::create(
                                 b, l, a[0], math::LogOp::create(b, l, a[1]));
                           })
            : mapWithStats(rewriter, loc, e, {s}, {axis},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::DivFOp::create(b, l, a[0], a[1]);
                           });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// hardmax: the first maximum's index along the axis (bathy.argmax, lowered
/// by its own pattern), then 1 where the index matches, 0 elsewhere.
struct HardmaxLowering : OpRewritePattern<HardmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(HardmaxOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!type)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    SmallVector<int64_t> reduced;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (d != axis)
        reduced.push_back(type.getDimSize(d));
    Value first = ArgMaxOp::create(
        rewriter, loc, RankedTensorType::get(reduced, rewriter.getI64Type()),
        op.getInput(), op.getAxisAttr(), rewriter.getBoolAttr(false),
        rewriter.getBoolAttr(false));
    Type elem = type.getElementType();
    Value y = mapWithStats(
        rewriter, loc, op.getInput(), {first}, {axis},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value at = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
          Value hit =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, at, a[1]);
          return arith::SelectOp::create(b, l, hit,
                                         scalarConstant(b, l, elem, 1),
                                         scalarConstant(b, l, elem, 0));
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Broadcasts a norm parameter (trailing-aligned with `x`) into a map.
AffineMap paramMap(MLIRContext *ctx, RankedTensorType x, Value param) {
  return broadcastMap(ctx, x.getRank(), cast<RankedTensorType>(param.getType()),
                      x);
}

/// A norm parameter read against `x` (trailing-aligned): a static size must
/// be 1 or x's size, a dynamic one is broadcast at run time if it is 1 and
/// must be x's size otherwise.
Value checkedParam(OpBuilder &b, Location loc, Value x, Value param,
                   StringRef what) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto pt = cast<RankedTensorType>(param.getType());
  int64_t offset = xt.getRank() - pt.getRank();
  SmallVector<int64_t> dims;
  SmallVector<Value> want;
  for (int64_t j = 0; j < pt.getRank(); ++j) {
    int64_t d = j + offset;
    if (d < 0 || pt.getDimSize(j) == 1)
      continue;
    if (pt.isDynamicDim(j)) {
      dims.push_back(j);
      want.push_back(dimValue(b, loc, x, d));
    } else if (xt.isDynamicDim(d)) {
      Value have = arith::ConstantIndexOp::create(b, loc, pt.getDimSize(j));
      Value need = dimValue(b, loc, x, d);
      emitCheck(b, loc, sameSize(b, loc, have, need),
                Twine(what) + " dim " + Twine(j) +
                    " has size {0}, but the input's dim " + Twine(d) +
                    " is {1}",
                ValueRange{have, need});
    }
  }
  if (dims.empty())
    return param;
  return broadcastOperandAtRuntime(b, loc, param, dims, want, what);
}

/// y = normalized * scale (+ bias) with broadcasting parameters.
Value applyAffine(OpBuilder &b, Location loc, Value normalized, Value scale,
                  Value bias) {
  auto type = cast<RankedTensorType>(normalized.getType());
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  scale = checkedParam(b, loc, normalized, scale, "scale");
  SmallVector<Value> inputs = {normalized, scale};
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 paramMap(ctx, type, scale)};
  if (bias) {
    bias = checkedParam(b, loc, normalized, bias, "bias");
    inputs.push_back(bias);
    maps.push_back(paramMap(ctx, type, bias));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = emptyTensor(
      b, loc, type, [&](int64_t d) { return dimValue(b, loc, normalized, d); });
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, inputs, ValueRange{init}, maps,
             SmallVector<IteratorType>(rank, IteratorType::parallel), "", "",
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value v = arith::MulFOp::create(nb, l, a[0], a[1]);
               if (a.size() > 3)
                 v = arith::AddFOp::create(nb, l, v, a[2]);
               linalg::YieldOp::create(nb, l, v);
             })
      .getResult(0);
}

/// x * rsqrt(sum(x^2 over axes) / n + eps): the core of layer and RMS norm
/// (layer norm passes the centered input).
Value scaleByRms(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes,
                 Value n, Value eps) {
  Value sq = mapWithStats(b, loc, x, {}, {},
                          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return arith::MulFOp::create(nb, l, a[0], a[0]);
                          });
  Value sumSq = reduce(b, loc, sq, axes, Combine::Sum);
  return mapWithStats(b, loc, x, {sumSq}, axes,
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value v = arith::AddFOp::create(
                            nb, l, arith::DivFOp::create(nb, l, a[1], n), eps);
                        return arith::MulFOp::create(
                            nb, l, a[0], math::RsqrtOp::create(nb, l, v));
                      });
}

struct LayerNormLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!type || !isa<RankedTensorType>(op.getScale().getType()) ||
        (op.getBias() && !isa<RankedTensorType>(op.getBias().getType())))
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    Value x = op.getInput();
    SmallVector<int64_t> axes;
    for (int64_t d = op.getAxis(); d < type.getRank(); ++d)
      axes.push_back(d);
    Type elem = type.getElementType();
    Value n = countOver(rewriter, loc, x, axes, elem);
    Value eps =
        scalarConstant(rewriter, loc, elem, op.getEpsilon().convertToDouble());
    Value sum = reduce(rewriter, loc, x, axes, Combine::Sum);
    Value centered =
        mapWithStats(rewriter, loc, x, {sum}, axes,
                     [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                       return arith::SubFOp::create(
                           b, l, a[0], arith::DivFOp::create(b, l, a[1], n));
                     });
    Value normalized = scaleByRms(rewriter, loc, centered, axes, n, eps);
    rewriter.replaceOp(op, applyAffine(rewriter, loc, normalized, op.getScale(),
                                       op.getBias()));
    return success();
  }
};

struct RmsNormLowering : OpRewritePattern<RmsNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RmsNormOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!type || !isa<RankedTensorType>(op.getScale().getType()))
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    Value x = op.getInput();
    SmallVector<int64_t> axes;
    for (int64_t d = op.getAxis(); d < type.getRank(); ++d)
      axes.push_back(d);
    Type elem = type.getElementType();
    Value n = countOver(rewriter, loc, x, axes, elem);
    Value eps =
        scalarConstant(rewriter, loc, elem, op.getEpsilon().convertToDouble());
    Value normalized = scaleByRms(rewriter, loc, x, axes, n, eps);
    rewriter.replaceOp(
        op, applyAffine(rewriter, loc, normalized, op.getScale(), Value()));
    return success();
  }
};

struct BatchNormLowering : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!type)
      return rewriter.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t rank = type.getRank();
    AffineMap channel =
        AffineMap::get(rank, 0, {getAffineDimExpr(1, ctx)}, ctx);
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    Value eps = scalarConstant(rewriter, loc, type.getElementType(),
                               op.getEpsilon().convertToDouble());
    // Each parameter holds one value per channel.
    Value channels = dimValue(rewriter, loc, op.getInput(), 1);
    for (auto [name, param] :
         {std::pair<StringRef, Value>{"scale", op.getScale()},
          {"bias", op.getBias()},
          {"mean", op.getMean()},
          {"variance", op.getVariance()}}) {
      auto pt = cast<RankedTensorType>(param.getType());
      if (!pt.isDynamicDim(0) && !type.isDynamicDim(1))
        continue;
      Value have = dimValue(rewriter, loc, param, 0);
      emitCheck(rewriter, loc, sameSize(rewriter, loc, have, channels),
                Twine(name) + " has {0} values for {1} channels",
                ValueRange{have, channels});
    }
    Value init = emptyTensor(rewriter, loc, type, [&](int64_t d) {
      return dimValue(rewriter, loc, op.getInput(), d);
    });
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type},
        ValueRange{op.getInput(), op.getScale(), op.getBias(), op.getMean(),
                   op.getVariance()},
        ValueRange{init}, {id, channel, channel, channel, channel, id},
        SmallVector<IteratorType>(rank, IteratorType::parallel), "", "",
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value inv = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, a[4], eps));
          Value v = arith::MulFOp::create(
              b, l, arith::SubFOp::create(b, l, a[0], a[3]),
              arith::MulFOp::create(b, l, inv, a[1]));
          linalg::YieldOp::create(b, l,
                                  Value(arith::AddFOp::create(b, l, v, a[2])));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void populateReductionToLinalg(RewritePatternSet &patterns) {
  patterns.add<ReductionLowering<ReduceSumOp, Combine::Sum>,
               ReductionLowering<ReduceMeanOp, Combine::Sum, true>,
               ReductionLowering<ReduceMaxOp, Combine::Max>,
               ReductionLowering<ReduceMinOp, Combine::Min>,
               ReductionLowering<ReduceProdOp, Combine::Prod>,
               GlobalPoolLowering<GlobalAvgPoolOp, Combine::Sum, true>,
               ArgReductionLowering<ArgMaxOp, true>,
               ArgReductionLowering<ArgMinOp, false>,
               GlobalPoolLowering<GlobalMaxPoolOp, Combine::Max, false>,
               SoftmaxLowering<SoftmaxOp, false>,
               SoftmaxLowering<LogSoftmaxOp, true>, HardmaxLowering,
               LayerNormLowering, RmsNormLowering, BatchNormLowering>(
      patterns.getContext());
}

} // namespace bathy::codegen
