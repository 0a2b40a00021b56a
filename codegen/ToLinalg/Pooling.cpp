//===- Pooling.cpp - 2-D max and average pooling to linalg ----------------===//
//
// The pooling family: 2-D bathy.max_pool and bathy.avg_pool (ceil mode,
// dilations, run-time spatial sizes) as linalg pooling ops.
// bathy-kernel-conv-pool-to-2d rewrites the other ranks first.
//
//===----------------------------------------------------------------------===//
#include "Common.h"

#include <limits>

using namespace mlir;

namespace bathy::codegen {
namespace {

using utils::IteratorType;

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

void populatePoolingToLinalg(RewritePatternSet &patterns) {
  patterns.add<PoolLowering<MaxPoolOp, true>, PoolLowering<AvgPoolOp, false>>(
      patterns.getContext());
}

} // namespace bathy::codegen
