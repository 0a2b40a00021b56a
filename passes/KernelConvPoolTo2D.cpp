//===- KernelConvPoolTo2D.cpp - Convolution and pooling as 2-D ops --------===//
//
// bathy-kernel-conv-pool-to-2d: bathy-to-bathy rewrites that leave only 2-D
// float convolution and pooling in kernels, the forms code generation
// lowers (and the CPU runtime's kernels compute): 1-D as 2-D with a height
// of 1, 3-D convolution as a sum of 2-D convolutions over the kernel depth,
// 3-D pooling as two 2-D poolings, integer max pooling on f32. Runs on
// kernels after outlining, so fusion sees the ops as the model wrote them.
//
//===----------------------------------------------------------------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Dialect/Bathy/ShapeUtils.h"
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-kernel-conv-pool-to-2d"

namespace bathy {
#define GEN_PASS_DEF_KERNELCONVPOOLTO2DPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

/// 1-D convolution as 2-D with a height of 1 (input and weight unsqueezed),
/// so it takes the same microkernels.
struct Conv1DTo2D : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto w = dyn_cast<RankedTensorType>(op.getWeight().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!in || !w || !out || in.getRank() != 3 || w.getRank() != 3)
      return rewriter.notifyMatchFailure(op, "not a ranked 1-D convolution");
    Location loc = op.getLoc();
    auto unsqueezed = [&](RankedTensorType t) {
      return RankedTensorType::get(
          {t.getDimSize(0), t.getDimSize(1), 1, t.getDimSize(2)},
          t.getElementType());
    };
    auto axis2 = rewriter.getDenseI64ArrayAttr({2});
    Value x = UnsqueezeOp::create(rewriter, loc, unsqueezed(in), op.getInput(),
                                  axis2);
    Value wt = UnsqueezeOp::create(rewriter, loc, unsqueezed(w), op.getWeight(),
                                   axis2);
    FailureOr<infer::Window> window = infer::getWindow(op, 1);
    if (failed(window))
      return rewriter.notifyMatchFailure(op, "malformed window");
    auto [strides, dilations, pads] = *window;
    Value y = ConvOp::create(
        rewriter, loc, unsqueezed(out), x, wt, op.getBias(),
        rewriter.getDenseI64ArrayAttr({1, strides[0]}),
        rewriter.getDenseI64ArrayAttr({0, pads[0], 0, pads[1]}),
        rewriter.getDenseI64ArrayAttr({1, dilations[0]}), op.getGroupAttr());
    rewriter.replaceOpWithNewOp<SqueezeOp>(op, out, y, axis2);
    return success();
  }
};

/// 3-D convolution as a sum of 2-D convolutions, one per kernel depth kd:
/// the input planes that tap kd (a strided slice along D, after D's
/// padding) become a batch of N * OD images convolved with the weight's
/// slice kd, so every term takes the 2-D microkernels:
///   out[n, :, od] = sum_kd conv2d(x[n, :, od * sd + kd * dd], w[:, :, kd]).
struct Conv3DTo2D : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto w = dyn_cast<RankedTensorType>(op.getWeight().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!in || !w || !out || in.getRank() != 5 || !w.hasStaticShape() ||
        !isa<FloatType>(in.getElementType()))
      return rewriter.notifyMatchFailure(op, "not a 3-D float convolution "
                                             "with static weights");
    for (int64_t d = 1; d < 5; ++d)
      if (in.isDynamicDim(d) || out.isDynamicDim(d))
        return rewriter.notifyMatchFailure(op, "dynamic channel or spatial "
                                               "dims");
    Location loc = op.getLoc();
    Type elem = in.getElementType();
    FailureOr<infer::Window> window = infer::getWindow(op, 3);
    if (failed(window))
      return rewriter.notifyMatchFailure(op, "malformed window");
    auto [strides, dilations, pads] = *window;
    int64_t n = in.getDimSize(0), c = in.getDimSize(1);
    int64_t f = out.getDimSize(1), od = out.getDimSize(2),
            oh = out.getDimSize(3), ow = out.getDimSize(4);
    int64_t kd = w.getDimSize(2), kh = w.getDimSize(3), kw = w.getDimSize(4);
    int64_t batch = ShapedType::isDynamic(n) ? n : n * od;
    auto arr = [&](ArrayRef<int64_t> v) {
      return rewriter.getDenseI64ArrayAttr(v);
    };
    Value x = op.getInput();
    if (pads[0] || pads[3]) // D's padding; H and W pad in the 2-D terms
      x = PadOp::create(
          rewriter, loc, x, arr({0, 0, pads[0], 0, 0, 0, 0, pads[3], 0, 0}),
          rewriter.getStringAttr("constant"), rewriter.getF64FloatAttr(0.0));
    Value sum;
    for (int64_t t = 0; t < kd; ++t) {
      int64_t start = t * dilations[0];
      Value planes = SliceOp::create(rewriter, loc, x, arr({2}), arr({start}),
                                     arr({start + (od - 1) * strides[0] + 1}),
                                     arr({strides[0]}));
      Value images =
          TransposeOp::create(rewriter, loc, planes, arr({0, 2, 1, 3, 4}));
      images = ReshapeOp::create(
          rewriter, loc,
          RankedTensorType::get({batch, c, in.getDimSize(3), in.getDimSize(4)},
                                elem),
          images);
      Value wt = SliceOp::create(rewriter, loc, op.getWeight(), arr({2}),
                                 arr({t}), arr({t + 1}), arr({1}));
      wt = ReshapeOp::create(
          rewriter, loc,
          RankedTensorType::get({w.getDimSize(0), w.getDimSize(1), kh, kw},
                                elem),
          wt);
      Value term = ConvOp::create(
          rewriter, loc, RankedTensorType::get({batch, f, oh, ow}, elem),
          images, wt, t == 0 ? op.getBias() : Value(),
          arr({strides[1], strides[2]}),
          arr({pads[1], pads[2], pads[4], pads[5]}),
          arr({dilations[1], dilations[2]}), op.getGroupAttr());
      sum = sum ? AddOp::create(rewriter, loc, sum.getType(), sum, term)
                      .getResult()
                : term;
    }
    Value y = ReshapeOp::create(
        rewriter, loc, RankedTensorType::get({n, od, f, oh, ow}, elem), sum);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, out, y, arr({0, 2, 1, 3, 4}));
    return success();
  }
};

/// Pooling the 2-D lowering does not take, rewritten into 2-D pooling of
/// float tensors: integer max pooling runs on f32 (exact for the 8-bit
/// types ONNX allows); 1-D pooling is 2-D with a height of 1; 3-D pooling is
/// separable — a box window's max (or average: the divisor is a product of
/// per-dim counts) over [D, H, W] is the pooling over D of the pooling over
/// [H, W] — so it is two 2-D poolings around reshapes.
template <typename OpTy> struct PoolTo2D : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  /// A pool like `op` over `input` with the given window, typed `type`.
  Value pool(PatternRewriter &rewriter, OpTy op, Value input,
             RankedTensorType type, ArrayRef<int64_t> kernel,
             ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
             ArrayRef<int64_t> dilations) const {
    auto p = OpTy::create(rewriter, op.getLoc(), type, input,
                          rewriter.getDenseI64ArrayAttr(kernel),
                          rewriter.getDenseI64ArrayAttr(strides),
                          rewriter.getDenseI64ArrayAttr(pads),
                          rewriter.getDenseI64ArrayAttr(dilations),
                          op.getCeilModeAttr());
    if constexpr (std::is_same_v<OpTy, AvgPoolOp>)
      p.setCountIncludePad(op.getCountIncludePad());
    return p.getResult();
  }

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto out = dyn_cast<RankedTensorType>(op.getType());
    if (!in || !out)
      return rewriter.notifyMatchFailure(op, "unranked");
    Location loc = op.getLoc();
    Type elem = in.getElementType();
    if (auto intType = dyn_cast<IntegerType>(elem)) {
      if (!std::is_same_v<OpTy, MaxPoolOp> || intType.getWidth() > 16)
        return rewriter.notifyMatchFailure(op, "integer pooling beyond max "
                                               "of <= 16 bits");
      Type f32 = rewriter.getF32Type();
      Value x = CastOp::create(rewriter, loc, in.clone(f32), op.getInput());
      auto floatPool = cast<OpTy>(rewriter.clone(*op));
      floatPool->setOperand(0, x);
      floatPool->getResult(0).setType(out.clone(f32));
      rewriter.replaceOpWithNewOp<CastOp>(op, out, floatPool->getResult(0));
      return success();
    }
    int64_t spatial = in.getRank() - 2;
    if (spatial != 1 && spatial != 3)
      return rewriter.notifyMatchFailure(op, "2-D pooling lowers directly");
    SmallVector<int64_t> kernel(op.getKernelShape());
    FailureOr<infer::Window> window = infer::getWindow(op, spatial);
    if (static_cast<int64_t>(kernel.size()) != spatial || failed(window))
      return rewriter.notifyMatchFailure(op, "malformed window");
    auto [strides, dilations, pads] = *window;
    auto shaped = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, elem);
    };
    if (spatial == 1) {
      Value x = UnsqueezeOp::create(
          rewriter, loc,
          shaped({in.getDimSize(0), in.getDimSize(1), 1, in.getDimSize(2)}),
          op.getInput(), rewriter.getDenseI64ArrayAttr({2}));
      Value y = pool(
          rewriter, op, x,
          shaped({out.getDimSize(0), out.getDimSize(1), 1, out.getDimSize(2)}),
          {1, kernel[0]}, {1, strides[0]}, {0, pads[0], 0, pads[1]},
          {1, dilations[0]});
      rewriter.replaceOpWithNewOp<SqueezeOp>(
          op, out, y, rewriter.getDenseI64ArrayAttr({2}));
      return success();
    }
    // 3-D: [N, C, D, H, W] -> [N, C*D, H, W] -> pool (H, W) -> [N, C*D, H',
    // W'] -> [N, C, D, H'*W'] -> pool (D, 1) -> [N, C, D', H'*W'] -> out.
    for (int64_t d = 1; d < 5; ++d)
      if (in.isDynamicDim(d) || out.isDynamicDim(d))
        return rewriter.notifyMatchFailure(op, "3-D pooling needs static "
                                               "channel and spatial dims");
    int64_t n = in.getDimSize(0), c = in.getDimSize(1), d = in.getDimSize(2);
    int64_t h2 = out.getDimSize(3), w2 = out.getDimSize(4),
            d2 = out.getDimSize(2);
    Value x = ReshapeOp::create(
        rewriter, loc, shaped({n, c * d, in.getDimSize(3), in.getDimSize(4)}),
        op.getInput());
    Value hw = pool(rewriter, op, x, shaped({n, c * d, h2, w2}),
                    {kernel[1], kernel[2]}, {strides[1], strides[2]},
                    {pads[1], pads[2], pads[4], pads[5]},
                    {dilations[1], dilations[2]});
    Value flat =
        ReshapeOp::create(rewriter, loc, shaped({n, c, d, h2 * w2}), hw);
    Value y =
        pool(rewriter, op, flat, shaped({n, c, d2, h2 * w2}), {kernel[0], 1},
             {strides[0], 1}, {pads[0], 0, pads[3], 0}, {dilations[0], 1});
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, out, y);
    return success();
  }
};

struct KernelConvPoolTo2DPass
    : impl::KernelConvPoolTo2DPassBase<KernelConvPoolTo2DPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns
        .add<PoolTo2D<MaxPoolOp>, PoolTo2D<AvgPoolOp>, Conv1DTo2D, Conv3DTo2D>(
            &getContext());
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func->hasAttr(kKernelAttrName))
        continue;
      GreedyRewriteConfig config;
      config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
      bool changed = false;
      (void)applyPatternsGreedily(func, frozen, config, &changed);
      LLVM_DEBUG(if (changed) llvm::dbgs() << "decomposed windowed ops in @"
                                           << func.getSymName() << "\n");
    }
  }
};

} // namespace
} // namespace bathy
