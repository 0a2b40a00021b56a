//===- Structured.cpp - Contractions, reductions, norms, conv, pooling ----===//
#include "Common.h"

#include <limits>

using namespace mlir;

namespace bathy::codegen {
namespace {

using utils::IteratorType;

/// Reduction kinds and their identities.
enum class Combine { Sum, Max, Min, Prod };

Value identityFor(OpBuilder &b, Location loc, Type t, Combine c) {
  if (auto ft = dyn_cast<FloatType>(t)) {
    switch (c) {
    case Combine::Sum:
      return scalarConstant(b, loc, t, 0);
    case Combine::Prod:
      return scalarConstant(b, loc, t, 1);
    case Combine::Max:
      return arith::ConstantOp::create(
          b, loc,
          b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(),
                                             /*Negative=*/true)));
    case Combine::Min:
      return arith::ConstantOp::create(
          b, loc, b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics())));
    }
  }
  auto it = cast<IntegerType>(t);
  unsigned w = it.getWidth();
  switch (c) {
  case Combine::Sum:
    return scalarConstant(b, loc, t, 0);
  case Combine::Prod:
    return scalarConstant(b, loc, t, 1);
  case Combine::Max:
    return arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(t, APInt::getSignedMinValue(w)));
  case Combine::Min:
    return arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(t, APInt::getSignedMaxValue(w)));
  }
  return {};
}

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
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<int64_t> kept;
  SmallVector<IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    if (llvm::is_contained(axes, d)) {
      iterators.push_back(IteratorType::reduction);
      continue;
    }
    iterators.push_back(IteratorType::parallel);
    shape.push_back(type.getDimSize(d));
    kept.push_back(d);
    outExprs.push_back(b.getAffineDimExpr(d));
  }
  auto outType = RankedTensorType::get(shape, type.getElementType());
  Value init = filledTensor(
      b, loc, outType,
      [&](int64_t d) { return dimValue(b, loc, input, kept[d]); },
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
      return failure();
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
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    int64_t rank = in.getRank();
    Type elem = in.getElementType();
    SmallVector<int64_t> shape, kept;
    SmallVector<AffineExpr> outExprs;
    SmallVector<IteratorType> iterators;
    for (int64_t d = 0; d < rank; ++d) {
      iterators.push_back(d == axis ? IteratorType::reduction
                                    : IteratorType::parallel);
      if (d == axis)
        continue;
      shape.push_back(in.getDimSize(d));
      kept.push_back(d);
      outExprs.push_back(getAffineDimExpr(d, ctx));
    }
    auto sizeOf = [&](int64_t d) {
      return dimValue(rewriter, loc, op.getInput(), kept[d]);
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
      return failure();
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
      return failure();
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
      return failure();
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
      return failure();
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
      return failure();
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

//===----------------------------------------------------------------------===//
// Matmul
//===----------------------------------------------------------------------===//

/// One linalg.generic contraction covering batching with broadcasting and
/// the 1-D promotions of numpy.matmul.
struct MatmulLowering : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    auto lhs = dyn_cast<RankedTensorType>(op.getLhs().getType());
    auto rhs = dyn_cast<RankedTensorType>(op.getRhs().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!lhs || !rhs || !out || out.getElementType().isUnsignedInteger())
      return failure();
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    bool lhsVec = lhs.getRank() == 1, rhsVec = rhs.getRank() == 1;
    int64_t outRank = out.getRank();
    int64_t batchRank = outRank - (lhsVec ? 0 : 1) - (rhsVec ? 0 : 1);
    // Result dims of M and N (for sizes), and the loop order
    // [batch..., M, K, N]: the reduction sits outside N so the innermost
    // loop walks rows of rhs and the result contiguously (vectorizable).
    int64_t mDim = lhsVec ? -1 : batchRank;
    int64_t nDim = rhsVec ? -1 : batchRank + (lhsVec ? 0 : 1);
    int64_t mLoop = batchRank;
    int64_t kLoop = batchRank + (lhsVec ? 0 : 1);
    int64_t nLoop = kLoop + 1;
    int64_t loops = outRank + 1;
    auto loopOfResult = [&](int64_t d) {
      if (d < batchRank)
        return d;
      if (d == mDim)
        return mLoop;
      return nLoop;
    };
    auto operandMap = [&](RankedTensorType t, bool isLhs) {
      SmallVector<AffineExpr> exprs;
      int64_t matDims = (isLhs ? lhsVec : rhsVec) ? 1 : 2;
      int64_t tBatch = t.getRank() - matDims;
      for (int64_t j = 0; j < tBatch; ++j) {
        int64_t rd = batchRank - tBatch + j;
        if (t.getDimSize(j) == 1 && out.getDimSize(rd) != 1)
          exprs.push_back(getAffineConstantExpr(0, ctx));
        else
          exprs.push_back(getAffineDimExpr(rd, ctx));
      }
      if (isLhs) {
        if (!lhsVec)
          exprs.push_back(getAffineDimExpr(mLoop, ctx));
        exprs.push_back(getAffineDimExpr(kLoop, ctx));
      } else {
        exprs.push_back(getAffineDimExpr(kLoop, ctx));
        if (!rhsVec)
          exprs.push_back(getAffineDimExpr(nLoop, ctx));
      }
      return AffineMap::get(loops, 0, exprs, ctx);
    };
    SmallVector<AffineExpr> outExprs;
    for (int64_t d = 0; d < outRank; ++d)
      outExprs.push_back(getAffineDimExpr(loopOfResult(d), ctx));
    SmallVector<AffineMap> maps = {operandMap(lhs, true),
                                   operandMap(rhs, false),
                                   AffineMap::get(loops, 0, outExprs, ctx)};
    // The contracted dims must agree.
    {
      int64_t lk = lhs.getRank() - 1, rk = rhsVec ? 0 : rhs.getRank() - 2;
      if (lhs.isDynamicDim(lk) || rhs.isDynamicDim(rk)) {
        Value a = dimValue(rewriter, loc, op.getLhs(), lk);
        Value c = dimValue(rewriter, loc, op.getRhs(), rk);
        emitCheck(rewriter, loc, sameSize(rewriter, loc, a, c),
                  "the inner dims differ: {0} vs {1}", ValueRange{a, c});
      }
    }
    // Batch dims broadcast like elementwise operands: a dynamic one the
    // other side contests is checked at run time.
    Value lhsValue = op.getLhs(), rhsValue = op.getRhs();
    if (batchRank > 0) {
      int64_t lhsBatch = lhs.getRank() - (lhsVec ? 1 : 2);
      int64_t rhsBatch = rhs.getRank() - (rhsVec ? 1 : 2);
      // Operand dim of result batch dim `d`, or -1.
      auto alignedDim = [&](int64_t n, int64_t d) {
        int64_t j = d - (batchRank - n);
        return j >= 0 && j < n ? j : -1;
      };
      ArrayRef<int64_t> equal = knownEqualDims(op);
      // The broadcast size of result batch dim `d`, the same for both
      // operands (lhs first, as NumPy reads them).
      SmallVector<Value> batchSize(batchRank);
      auto sizeOf = [&](int64_t d) {
        if (batchSize[d])
          return batchSize[d];
        if (!out.isDynamicDim(d))
          return batchSize[d] = arith::ConstantIndexOp::create(
                     rewriter, loc, out.getDimSize(d));
        SmallVector<Value> sizes;
        for (auto [v, t, n] : {std::tuple{op.getLhs(), lhs, lhsBatch},
                               std::tuple{op.getRhs(), rhs, rhsBatch}}) {
          int64_t j = alignedDim(n, d);
          if (j >= 0 && t.getDimSize(j) != 1)
            sizes.push_back(dimValue(rewriter, loc, v, j));
        }
        return batchSize[d] = combineBroadcastSizes(rewriter, loc, sizes);
      };
      auto fix = [&](Value v, RankedTensorType t, int64_t n,
                     RankedTensorType ot, int64_t on, int64_t index) -> Value {
        SmallVector<int64_t> dims;
        SmallVector<Value> want;
        for (int64_t j = 0; j < n; ++j) {
          int64_t d = j + (batchRank - n);
          int64_t k = alignedDim(on, d);
          if (llvm::is_contained(equal, d) || k < 0 || ot.getDimSize(k) == 1 ||
              t.getDimSize(j) == 1 ||
              (!t.isDynamicDim(j) && !ot.isDynamicDim(k)))
            continue;
          if (!t.isDynamicDim(j)) {
            // A static size the other operand's dynamic one meets.
            Value have =
                arith::ConstantIndexOp::create(rewriter, loc, t.getDimSize(j));
            emitCheck(rewriter, loc, sameSize(rewriter, loc, have, sizeOf(d)),
                      Twine(index == 0 ? "the first" : "the second") +
                          " operand's batch dim " + Twine(j) +
                          " has size {0}, which does not broadcast to {1}",
                      ValueRange{have, sizeOf(d)});
            continue;
          }
          dims.push_back(j);
          want.push_back(sizeOf(d));
        }
        return dims.empty() ? v
                            : broadcastOperandAtRuntime(
                                  rewriter, loc, v, dims, want,
                                  index == 0 ? "the first operand's batch"
                                             : "the second operand's batch");
      };
      lhsValue = fix(op.getLhs(), lhs, lhsBatch, rhs, rhsBatch, 0);
      rhsValue = fix(op.getRhs(), rhs, rhsBatch, lhs, lhsBatch, 1);
    }
    SmallVector<IteratorType> iterators(loops, IteratorType::parallel);
    iterators[kLoop] = IteratorType::reduction;
    Value zero = scalarConstant(rewriter, loc, out.getElementType(), 0);
    Value init = filledTensor(
        rewriter, loc, out,
        [&](int64_t d) -> Value {
          if (d == mDim)
            return dimValue(rewriter, loc, lhsValue, lhs.getRank() - 2);
          if (d == nDim)
            return dimValue(rewriter, loc, rhsValue, rhs.getRank() - 1);
          // A batch dim: from an operand whose aligned dim is not 1 (after
          // the run-time broadcast above, either one that is not static 1).
          for (auto [v, t, mat] : {std::tuple{lhsValue, lhs, lhsVec ? 1 : 2},
                                   std::tuple{rhsValue, rhs, rhsVec ? 1 : 2}}) {
            int64_t tBatch = t.getRank() - mat;
            int64_t j = d - (batchRank - tBatch);
            if (j >= 0 && j < tBatch && t.getDimSize(j) != 1)
              return dimValue(rewriter, loc, v, j);
          }
          return arith::ConstantIndexOp::create(rewriter, loc, 1);
        },
        zero);
    bool isFloat = isa<FloatType>(out.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{out}, ValueRange{lhsValue, rhsValue},
        ValueRange{init}, maps, iterators, "", "",
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value p = isFloat ? Value(arith::MulFOp::create(b, l, a[0], a[1]))
                            : Value(arith::MulIOp::create(b, l, a[0], a[1]));
          Value s = isFloat ? Value(arith::AddFOp::create(b, l, a[2], p))
                            : Value(arith::AddIOp::create(b, l, a[2], p));
          linalg::YieldOp::create(b, l, s);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Convolution and pooling (2-D)
//===----------------------------------------------------------------------===//

/// Pads the spatial dims of an NCHW value with `value`.
Value padSpatial(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> low,
                 ArrayRef<int64_t> high, Value value) {
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(high, [](int64_t v) { return v == 0; }))
    return input;
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> lo = {0, 0}, hi = {0, 0};
  lo.append(low.begin(), low.end());
  hi.append(high.begin(), high.end());
  SmallVector<int64_t> shape(type.getShape());
  for (size_t d = 2; d < shape.size(); ++d)
    if (!ShapedType::isDynamic(shape[d]))
      shape[d] += lo[d] + hi[d];
  auto padType = RankedTensorType::get(shape, type.getElementType());
  auto attrs = [&](ArrayRef<int64_t> v) {
    return llvm::to_vector(llvm::map_range(
        v, [&](int64_t x) -> OpFoldResult { return b.getIndexAttr(x); }));
  };
  return tensor::PadOp::create(b, loc, padType, input, attrs(lo), attrs(hi),
                               value, /*nofold=*/false);
}

struct ConvLowering : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto w = dyn_cast<RankedTensorType>(op.getWeight().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!in || !w || !out || in.getRank() != 4 ||
        !isa<FloatType>(in.getElementType()) || !w.hasStaticShape() ||
        out.isDynamicDim(1))
      return rewriter.notifyMatchFailure(
          op, "only 2-D float convolution with a weight of static shape");
    Location loc = op.getLoc();
    int64_t group = static_cast<int64_t>(op.getGroup());
    // Depthwise (one filter per channel) runs as its own generic too, so the
    // runtime's direct depthwise kernel can take it.
    bool depthwise = group > 1 && !in.isDynamicDim(1) &&
                     in.getDimSize(1) == group && w.getDimSize(0) == group &&
                     w.getDimSize(1) == 1;
    if (group > 1 && !depthwise &&
        (in.isDynamicDim(1) || out.isDynamicDim(2) || out.isDynamicDim(3)))
      return rewriter.notifyMatchFailure(
          op, "grouped convolution needs static channel and spatial dims");
    FailureOr<infer::Window> opWindow = infer::getWindow(op, 2);
    if (failed(opWindow))
      return rewriter.notifyMatchFailure(op, "malformed window");
    auto [strides, dilations, pads] = *opWindow;
    Type elem = in.getElementType();
    Value zero = scalarConstant(rewriter, loc, elem, 0);
    Value x = padSpatial(rewriter, loc, op.getInput(), {pads[0], pads[1]},
                         {pads[2], pads[3]}, zero);
    // Run-time channel count and window fit where the types leave them open.
    if (in.isDynamicDim(1)) {
      Value c = dimValue(rewriter, loc, op.getInput(), 1);
      Value want = arith::ConstantIndexOp::create(rewriter, loc,
                                                  w.getDimSize(1) * group);
      emitCheck(rewriter, loc, sameSize(rewriter, loc, c, want),
                "the input has {0} channels, the weight expects {1}",
                ValueRange{c, want});
    }
    // Output spatial size d: (padded - dilation*(k-1) - 1) / stride + 1.
    SmallVector<Value> outSizes(4);
    for (int64_t d = 2; d < 4; ++d) {
      if (!out.isDynamicDim(d))
        continue;
      int64_t window = dilations[d - 2] * (w.getDimSize(d) - 1) + 1;
      Value padded = dimValue(rewriter, loc, x, d);
      Value span = arith::ConstantIndexOp::create(rewriter, loc, window);
      emitCheck(rewriter, loc,
                arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sge,
                                      padded, span),
                "spatial dim " + Twine(d) +
                    " is {0} with padding, smaller than the kernel window {1}",
                ValueRange{padded, span});
      Value rest = arith::SubIOp::create(rewriter, loc, padded, span);
      Value safe = arith::MaxSIOp::create(
          rewriter, loc, rest,
          arith::ConstantIndexOp::create(rewriter, loc, 0));
      outSizes[d] = arith::AddIOp::create(
          rewriter, loc,
          arith::DivUIOp::create(
              rewriter, loc, safe,
              arith::ConstantIndexOp::create(rewriter, loc, strides[d - 2])),
          arith::ConstantIndexOp::create(rewriter, loc, 1));
    }
    auto outSize = [&](int64_t d) -> Value {
      if (d == 0)
        return dimValue(rewriter, loc, op.getInput(), 0);
      return outSizes[d];
    };
    auto stridesAttr = rewriter.getI64TensorAttr(strides);
    auto dilationsAttr = rewriter.getI64TensorAttr(dilations);
    Value result;
    Value bias = op.getBias();
    if (group == 1 || depthwise) {
      // The accumulator starts as the bias broadcast over the image (or
      // zero), so the bias costs no extra pass over the output.
      Value init;
      if (bias) {
        MLIRContext *ctx = op.getContext();
        AffineMap channel =
            AffineMap::get(4, 0, {getAffineDimExpr(1, ctx)}, ctx);
        Value empty = emptyTensor(rewriter, loc, out, outSize);
        init = linalg::GenericOp::create(
                   rewriter, loc, TypeRange{out}, ValueRange{bias},
                   ValueRange{empty},
                   {channel, AffineMap::getMultiDimIdentityMap(4, ctx)},
                   SmallVector<IteratorType>(4, IteratorType::parallel), "", "",
                   [&](OpBuilder &b, Location l, ValueRange a) {
                     linalg::YieldOp::create(b, l, a[0]);
                   })
                   .getResult(0);
        bias = nullptr;
      } else {
        init = filledTensor(rewriter, loc, out, outSize, zero);
      }
      MLIRContext *ctx = op.getContext();
      auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
      auto par = IteratorType::parallel, red = IteratorType::reduction;
      SmallVector<AffineMap> maps;
      SmallVector<IteratorType> iterators;
      if (depthwise) {
        // Loops [n, c, kh, kw, oh, ow]; filter c reads channel c only.
        maps = {
            AffineMap::get(6, 0,
                           {d(0), d(1), d(4) * strides[0] + d(2) * dilations[0],
                            d(5) * strides[1] + d(3) * dilations[1]},
                           ctx),
            AffineMap::get(
                6, 0, {d(1), getAffineConstantExpr(0, ctx), d(2), d(3)}, ctx),
            AffineMap::get(6, 0, {d(0), d(1), d(4), d(5)}, ctx)};
        iterators = {par, par, red, red, par, par};
      } else {
        // Loops [n, f, c, kh, kw, oh, ow]: the reductions sit outside the
        // output row, so the innermost loop walks contiguous output (and,
        // at stride 1, input) elements and vectorizes.
        maps = {
            AffineMap::get(7, 0,
                           {d(0), d(2), d(5) * strides[0] + d(3) * dilations[0],
                            d(6) * strides[1] + d(4) * dilations[1]},
                           ctx),
            AffineMap::get(7, 0, {d(1), d(2), d(3), d(4)}, ctx),
            AffineMap::get(7, 0, {d(0), d(1), d(5), d(6)}, ctx)};
        iterators = {par, par, red, red, red, par, par};
      }
      auto generic = linalg::GenericOp::create(
          rewriter, loc, TypeRange{out}, ValueRange{x, op.getWeight()},
          ValueRange{init}, maps, iterators, "", "",
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value p = arith::MulFOp::create(b, l, a[0], a[1]);
            linalg::YieldOp::create(
                b, l, Value(arith::AddFOp::create(b, l, a[2], p)));
          });
      result = generic.getResult(0);
    } else {
      // [N, C, H, W] -> [N, G, C/G, H, W]; [M, C/G, KH, KW] -> [G, M/G, ...].
      int64_t c = in.getDimSize(1), m = w.getDimSize(0);
      auto xType = cast<RankedTensorType>(x.getType());
      SmallVector<OpFoldResult> xSizes = {
          xType.isDynamicDim(0) ? OpFoldResult(dimValue(rewriter, loc, x, 0))
                                : rewriter.getIndexAttr(xType.getDimSize(0)),
          rewriter.getIndexAttr(group), rewriter.getIndexAttr(c / group),
          rewriter.getIndexAttr(xType.getDimSize(2)),
          rewriter.getIndexAttr(xType.getDimSize(3))};
      auto xg = tensor::ExpandShapeOp::create(
          rewriter, loc,
          RankedTensorType::get({xType.getDimSize(0), group, c / group,
                                 xType.getDimSize(2), xType.getDimSize(3)},
                                elem),
          x, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}}, xSizes);
      auto wg = tensor::ExpandShapeOp::create(
          rewriter, loc,
          RankedTensorType::get({group, m / group, w.getDimSize(1),
                                 w.getDimSize(2), w.getDimSize(3)},
                                elem),
          op.getWeight(),
          SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}, {4}},
          SmallVector<OpFoldResult>{rewriter.getIndexAttr(group),
                                    rewriter.getIndexAttr(m / group),
                                    rewriter.getIndexAttr(w.getDimSize(1)),
                                    rewriter.getIndexAttr(w.getDimSize(2)),
                                    rewriter.getIndexAttr(w.getDimSize(3))});
      auto gOut = RankedTensorType::get({out.getDimSize(0), group, m / group,
                                         out.getDimSize(2), out.getDimSize(3)},
                                        elem);
      Value init = filledTensor(
          rewriter, loc, gOut,
          [&](int64_t) -> Value {
            return dimValue(rewriter, loc, op.getInput(), 0);
          },
          zero);
      Value conv = linalg::Conv2DNgchwGfchwOp::create(
                       rewriter, loc, TypeRange{gOut}, ValueRange{xg, wg},
                       ValueRange{init}, stridesAttr, dilationsAttr)
                       .getResult(0);
      result = tensor::CollapseShapeOp::create(
          rewriter, loc, out, conv,
          SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
    }
    if (bias) {
      MLIRContext *ctx = op.getContext();
      AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
      AffineMap channel = AffineMap::get(4, 0, {getAffineDimExpr(1, ctx)}, ctx);
      Value init = emptyTensor(rewriter, loc, out, [&](int64_t d) {
        return dimValue(rewriter, loc, result, d);
      });
      result = linalg::GenericOp::create(
                   rewriter, loc, TypeRange{out}, ValueRange{result, bias},
                   ValueRange{init}, {id, channel, id},
                   SmallVector<IteratorType>(4, IteratorType::parallel), "", "",
                   [&](OpBuilder &b, Location l, ValueRange a) {
                     linalg::YieldOp::create(
                         b, l, Value(arith::AddFOp::create(b, l, a[0], a[1])));
                   })
                   .getResult(0);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Pads the spatial dims of an NCHW value: `low` static, `high` static
/// amounts plus run-time `extra` (ceil-mode overhang).
Value padSpatialDynamic(OpBuilder &b, Location loc, Value input,
                        ArrayRef<int64_t> low, ArrayRef<int64_t> high,
                        ArrayRef<Value> extra, Value value) {
  SmallVector<OpFoldResult> lo = {b.getIndexAttr(0), b.getIndexAttr(0)},
                            hi = {b.getIndexAttr(0), b.getIndexAttr(0)};
  for (int i = 0; i < 2; ++i) {
    lo.push_back(b.getIndexAttr(low[i]));
    Value h = b.createOrFold<arith::AddIOp>(
        loc, extra[i], arith::ConstantIndexOp::create(b, loc, high[i]));
    hi.push_back(getAsOpFoldResult(h));
  }
  if (llvm::all_of(llvm::concat<OpFoldResult>(lo, hi),
                   [](OpFoldResult f) { return isConstantIntValue(f, 0); }))
    return input;
  return tensor::PadOp::create(b, loc, RankedTensorType(), input, lo, hi, value,
                               /*nofold=*/false);
}

template <typename OpTy, bool Max>
struct PoolLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!in || !out || in.getRank() != 4 ||
        !isa<FloatType>(in.getElementType()))
      return rewriter.notifyMatchFailure(op, "only 2-D float pooling");
    Location loc = op.getLoc();
    Type elem = in.getElementType();
    SmallVector<int64_t> kernel(op.getKernelShape());
    FailureOr<infer::Window> opWindow = infer::getWindow(op, 2);
    if (failed(opWindow))
      return rewriter.notifyMatchFailure(op, "malformed window");
    auto [strides, dilations, pads] = *opWindow;
    bool ceilMode = op.getCeilMode();
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(rewriter, loc, v);
    };
    // Per spatial dim, at run time (constants fold when sizes are static):
    // the output size (ONNX's rule: ceil mode rounds up, but a window may
    // not start past the input and its begin padding) and the extra end
    // padding that makes the last ceil-mode window fit.
    SmallVector<Value> outSize(2), extra(2), inSize(2);
    for (int i = 0; i < 2; ++i) {
      int64_t window = dilations[i] * (kernel[i] - 1) + 1;
      inSize[i] = dimValue(rewriter, loc, op.getInput(), i + 2);
      Value padded = rewriter.createOrFold<arith::AddIOp>(
          loc, inSize[i], cst(pads[i] + pads[i + 2]));
      emitCheck(rewriter, loc,
                rewriter.createOrFold<arith::CmpIOp>(
                    loc, arith::CmpIPredicate::sge, padded, cst(window)),
                "spatial dim " + Twine(i + 2) +
                    " is {0} with padding, smaller than the window {1}",
                ValueRange{padded, cst(window)});
      Value room = rewriter.createOrFold<arith::MaxSIOp>(
          loc, cst(0),
          rewriter.createOrFold<arith::SubIOp>(loc, padded, cst(window)));
      Value steps = ceilMode ? Value(rewriter.createOrFold<arith::CeilDivUIOp>(
                                   loc, room, cst(strides[i])))
                             : Value(rewriter.createOrFold<arith::DivUIOp>(
                                   loc, room, cst(strides[i])));
      Value n = rewriter.createOrFold<arith::AddIOp>(loc, steps, cst(1));
      if (ceilMode) {
        Value lastStart =
            rewriter.createOrFold<arith::MulIOp>(loc, steps, cst(strides[i]));
        Value past = rewriter.createOrFold<arith::CmpIOp>(
            loc, arith::CmpIPredicate::sge, lastStart,
            rewriter.createOrFold<arith::AddIOp>(loc, inSize[i], cst(pads[i])));
        n = rewriter.createOrFold<arith::SelectOp>(
            loc, past, rewriter.createOrFold<arith::SubIOp>(loc, n, cst(1)), n);
      }
      outSize[i] = out.isDynamicDim(i + 2) ? n : cst(out.getDimSize(i + 2));
      Value need = rewriter.createOrFold<arith::AddIOp>(
          loc,
          rewriter.createOrFold<arith::MulIOp>(
              loc,
              rewriter.createOrFold<arith::SubIOp>(loc, outSize[i], cst(1)),
              cst(strides[i])),
          cst(window));
      extra[i] = rewriter.createOrFold<arith::MaxSIOp>(
          loc, cst(0), rewriter.createOrFold<arith::SubIOp>(loc, need, padded));
    }
    auto stridesAttr = rewriter.getI64TensorAttr(strides);
    auto dilationsAttr = rewriter.getI64TensorAttr(dilations);
    Value window = tensor::EmptyOp::create(rewriter, loc, kernel, elem);
    auto sizeOf = [&](int64_t d) -> Value {
      return d < 2 ? dimValue(rewriter, loc, op.getInput(), d) : outSize[d - 2];
    };
    if (Max) {
      Value lowest = identityFor(rewriter, loc, elem, Combine::Max);
      Value x =
          padSpatialDynamic(rewriter, loc, op.getInput(), {pads[0], pads[1]},
                            {pads[2], pads[3]}, extra, lowest);
      Value init = filledTensor(rewriter, loc, out, sizeOf, lowest);
      rewriter.replaceOp(op, linalg::PoolingNchwMaxOp::create(
                                 rewriter, loc, TypeRange{out},
                                 ValueRange{x, window}, ValueRange{init},
                                 stridesAttr, dilationsAttr)
                                 .getResult(0));
      return success();
    }
    Value zero = scalarConstant(rewriter, loc, elem, 0);
    Value x =
        padSpatialDynamic(rewriter, loc, op.getInput(), {pads[0], pads[1]},
                          {pads[2], pads[3]}, extra, zero);
    Value sum = linalg::PoolingNchwSumOp::create(
                    rewriter, loc, TypeRange{out}, ValueRange{x, window},
                    ValueRange{filledTensor(rewriter, loc, out, sizeOf, zero)},
                    stridesAttr, dilationsAttr)
                    .getResult(0);
    // Divisor per output position: pool a tensor of ones whose explicit
    // padding counts only with count_include_pad; ceil overhang never counts.
    bool includePad = false;
    if constexpr (std::is_same_v<OpTy, AvgPoolOp>)
      includePad = op.getCountIncludePad();
    auto onesType =
        RankedTensorType::get({1, 1, in.getDimSize(2), in.getDimSize(3)}, elem);
    Value ones = filledTensor(
        rewriter, loc, onesType, [&](int64_t d) { return inSize[d - 2]; },
        scalarConstant(rewriter, loc, elem, 1));
    Value noExtra[2] = {cst(0), cst(0)};
    Value onesPadded = padSpatialDynamic(
        rewriter, loc, ones, {pads[0], pads[1]}, {pads[2], pads[3]}, noExtra,
        includePad ? scalarConstant(rewriter, loc, elem, 1) : zero);
    onesPadded = padSpatialDynamic(rewriter, loc, onesPadded, {0, 0}, {0, 0},
                                   extra, zero);
    auto countType = RankedTensorType::get(
        {1, 1, out.getDimSize(2), out.getDimSize(3)}, elem);
    Value count =
        linalg::PoolingNchwSumOp::create(
            rewriter, loc, TypeRange{countType}, ValueRange{onesPadded, window},
            ValueRange{filledTensor(
                rewriter, loc, countType,
                [&](int64_t d) { return outSize[d - 2]; }, zero)},
            stridesAttr, dilationsAttr)
            .getResult(0);
    MLIRContext *ctx = op.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap spatial = AffineMap::get(
        4, 0,
        {getAffineConstantExpr(0, ctx), getAffineConstantExpr(0, ctx),
         getAffineDimExpr(2, ctx), getAffineDimExpr(3, ctx)},
        ctx);
    Value init = emptyTensor(rewriter, loc, out, sizeOf);
    rewriter.replaceOp(
        op, linalg::GenericOp::create(
                rewriter, loc, TypeRange{out}, ValueRange{sum, count},
                ValueRange{init}, {id, spatial, id},
                SmallVector<IteratorType>(4, IteratorType::parallel), "", "",
                [&](OpBuilder &b, Location l, ValueRange a) {
                  linalg::YieldOp::create(
                      b, l, Value(arith::DivFOp::create(b, l, a[0], a[1])));
                })
                .getResults());
    return success();
  }
};

} // namespace

void populateStructuredToLinalg(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns
      .add<ReductionLowering<ReduceSumOp, Combine::Sum>,
           ReductionLowering<ReduceMeanOp, Combine::Sum, true>,
           ReductionLowering<ReduceMaxOp, Combine::Max>,
           ReductionLowering<ReduceMinOp, Combine::Min>,
           ReductionLowering<ReduceProdOp, Combine::Prod>,
           GlobalPoolLowering<GlobalAvgPoolOp, Combine::Sum, true>,
           ArgReductionLowering<ArgMaxOp, true>,
           ArgReductionLowering<ArgMinOp, false>,
           GlobalPoolLowering<GlobalMaxPoolOp, Combine::Max, false>,
           SoftmaxLowering<SoftmaxOp, false>,
           SoftmaxLowering<LogSoftmaxOp, true>, LayerNormLowering,
           RmsNormLowering, BatchNormLowering, MatmulLowering, ConvLowering,
           PoolLowering<MaxPoolOp, true>, PoolLowering<AvgPoolOp, false>>(
          ctx);
}

} // namespace bathy::codegen
