//===- Contraction.cpp - Matmul and convolution to linalg -----------------===//
//
// The contraction family: bathy.matmul (batched, broadcasting, with the 1-D
// promotions of numpy.matmul) and 2-D bathy.conv (plain, depthwise,
// grouped) as multiply-accumulate linalg.generic ops. Nothing marks them for
// a target: the CPU recognises their form (codegen/CPU/MicrokernelMatchers.h).
//
//===----------------------------------------------------------------------===//
#include "Common.h"

#include "bathy/Dialect/Bathy/ShapeRules.h"

#include <limits>

using namespace mlir;

namespace bathy::codegen {
namespace {

using utils::IteratorType;

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
      return rewriter.notifyMatchFailure(
          op, "unranked, or unsigned (made signless by another pattern first)");
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    bool lhsVec = lhs.getRank() == 1, rhsVec = rhs.getRank() == 1;
    int64_t outRank = out.getRank();
    int64_t batchRank = outRank - (lhsVec ? 0 : 1) - (rhsVec ? 0 : 1);
    // The result dim of M, and the loop order [batch..., M, K, N]: the
    // reduction sits outside N so the innermost loop walks rows of rhs and
    // the result contiguously (vectorizable).
    int64_t mDim = lhsVec ? -1 : batchRank;
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
      SmallVector<SizeRef> lhsSizes = sizesOf(op.getLhs());
      SmallVector<SizeRef> rhsSizes = sizesOf(op.getRhs());
      SmallVector<ArrayRef<SizeRef>> batchSizes = {
          ArrayRef(lhsSizes).take_front(lhsBatch),
          ArrayRef(rhsSizes).take_front(rhsBatch)};
      SmallVector<Value> batchSize(batchRank);
      auto sizeOf = [&](int64_t d) {
        if (batchSize[d])
          return batchSize[d];
        if (!out.isDynamicDim(d))
          return batchSize[d] = arith::ConstantIndexOp::create(
                     rewriter, loc, out.getDimSize(d));
        return batchSize[d] =
                   shape::broadcastDim<SizeRef>(
                       batchSizes, batchRank, d, SizeRef::constant(1),
                       [&](const SizeRef &acc, const SizeRef &size) {
                         return joinBroadcastSizes(rewriter, loc, acc, size);
                       })
                       ->materialize(rewriter, loc);
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
    // Result sizes: the batch dims from an operand whose aligned dim is not
    // 1 (after the run-time broadcast above, either one that is not static
    // 1), then the matrix dims.
    SmallVector<SizeRef> lhsSizes = sizesOf(lhsValue);
    SmallVector<SizeRef> rhsSizes = sizesOf(rhsValue);
    SmallVector<SizeRef> sizes = *shape::broadcast<SizeRef>(
        {ArrayRef(lhsSizes).drop_back(lhsVec ? 1 : 2),
         ArrayRef(rhsSizes).drop_back(rhsVec ? 1 : 2)},
        batchRank, SizeRef::constant(1), pickBroadcastSize);
    shape::appendMatmulDims<SizeRef>(sizes, lhsSizes, rhsSizes);
    Value init = filledTensor(
        rewriter, loc, out,
        [&](int64_t d) { return sizes[d].materialize(rewriter, loc); }, zero);
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

} // namespace

void populateContractionToLinalg(RewritePatternSet &patterns) {
  patterns.add<MatmulLowering, ConvLowering>(patterns.getContext());
}

} // namespace bathy::codegen
