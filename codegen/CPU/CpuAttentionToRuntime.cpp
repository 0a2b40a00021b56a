//===- CpuAttentionToRuntime.cpp - bathy.attention to the runtime kernel --===//
//
// bathy-cpu-attention-to-runtime. bathy.attention is target-neutral kernel
// IR: attention has no useful linalg form (two contractions around a
// softmax, whose point is never to materialise the scores), so each target
// lowers it before bathy-linalg-from-bathy, which leaves it alone. On the
// CPU it becomes a call of the runtime's flash-style kernel: operands go in
// as buffers
// (`bufferization.to_buffer`, read only, any layout), the result is a fresh
// buffer turned back into a tensor. One-shot bufferization keeps both. A
// transpose that feeds an operand or reads the result is turned into strides
// after bufferization (bathy-cpu-microkernels).
//
//===----------------------------------------------------------------------===//
#include "ToLinalg/Common.h"
#include "bathy/Codegen/CPU/Passes.h"
#include "runtime/cpu/entry_points.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-attention-to-runtime"

namespace bathy {
#define GEN_PASS_DEF_CPUATTENTIONTORUNTIMEPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

#include <limits>

using namespace mlir;

namespace bathy {
namespace {

using codegen::combineBroadcastSizes;
using codegen::dimValue;

/// A memref type with `type`'s shape and a fully dynamic strided layout, so
/// that any buffer bufferization picks casts to it.
MemRefType anyLayout(RankedTensorType type) {
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  return MemRefType::get(
      type.getShape(), type.getElementType(),
      StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic, strides));
}

struct AttentionToCall : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto resultType = dyn_cast<RankedTensorType>(op.getType());
    if (!resultType)
      return rewriter.notifyMatchFailure(op, "unranked result");
    for (Value operand : op->getOperands())
      if (!isa<RankedTensorType>(operand.getType()))
        return rewriter.notifyMatchFailure(op, "unranked operand");
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    if (resultType.getElementType() != f32) {
      // Other float types run the f32 kernel between casts (which lower
      // like any other bathy.cast).
      auto toF32 = [&](Value v) -> Value {
        auto t = cast<RankedTensorType>(v.getType());
        return CastOp::create(rewriter, loc, t.clone(f32), v);
      };
      Value mask = op.getMask() ? toF32(op.getMask()) : Value();
      auto inF32 = AttentionOp::create(
          rewriter, loc, resultType.clone(f32), toF32(op.getQ()),
          toF32(op.getK()), toF32(op.getV()), mask, op.getScaleAttr(),
          op.getSoftcapAttr(), op.getCausalAttr(), op.getMaskedScoreAttr());
      rewriter.replaceOpWithNewOp<CastOp>(op, resultType, inF32.getResult());
      return success();
    }

    auto unranked = UnrankedMemRefType::get(f32, 0);
    SmallVector<Value> args;
    // An unranked memref lowers to the (rank, descriptor) pair the C entry
    // points take.
    auto pass = [&](Value buffer) {
      args.push_back(memref::CastOp::create(rewriter, loc, unranked, buffer));
    };
    SmallVector<Value> inputs = {op.getQ(), op.getK(), op.getV()};
    if (op.getMask())
      inputs.push_back(op.getMask());
    int64_t rank = resultType.getRank();
    auto assertThat = [&](Value ok, const Twine &what) {
      std::string message;
      llvm::raw_string_ostream os(message);
      os << "bathy.attention at " << loc << ": " << what;
      cf::AssertOp::create(rewriter, loc, ok, message);
    };
    auto cmp = [&](arith::CmpIPredicate p, Value a, Value b) -> Value {
      return arith::CmpIOp::create(rewriter, loc, p, a, b);
    };
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    // Head counts the types leave open.
    auto qType = cast<RankedTensorType>(op.getQ().getType());
    auto kType = cast<RankedTensorType>(op.getK().getType());
    auto vType = cast<RankedTensorType>(op.getV().getType());
    int64_t heads = rank - 3;
    if (kType.isDynamicDim(heads) || vType.isDynamicDim(heads) ||
        qType.isDynamicDim(heads)) {
      Value hq = dimValue(rewriter, loc, op.getQ(), heads);
      Value hk = dimValue(rewriter, loc, op.getK(), heads);
      Value hv = dimValue(rewriter, loc, op.getV(), heads);
      Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
      Value safe = arith::MaxUIOp::create(rewriter, loc, hk, one);
      Value rem = arith::RemUIOp::create(rewriter, loc, hq, safe);
      Value ok = arith::AndIOp::create(
          rewriter, loc, cmp(arith::CmpIPredicate::eq, hk, hv),
          arith::AndIOp::create(rewriter, loc,
                                cmp(arith::CmpIPredicate::ne, hk, zero),
                                cmp(arith::CmpIPredicate::eq, rem, zero)));
      assertThat(ok, "k and v head counts differ, or q's is not a multiple");
    }
    if (Value mask = op.getMask()) {
      // The mask's head, query and key dims must be 1 or the scores'
      // [Hq, Sq, Sk]; sizes the types leave open are checked here.
      auto maskType = cast<RankedTensorType>(mask.getType());
      int64_t maskRank = maskType.getRank();
      for (int64_t i = 0; i < maskRank; ++i) {
        int64_t d = rank - maskRank + i;
        if (d < heads)
          continue; // leading dims broadcast like q's, k's and v's
        Value scoresFrom = d == rank - 1 ? op.getK() : op.getQ();
        int64_t scoresDim = d == rank - 1 ? rank - 2 : d;
        int64_t ms = maskType.getDimSize(i),
                ss = cast<RankedTensorType>(scoresFrom.getType())
                         .getDimSize(scoresDim);
        if (ms == 1 || (!ShapedType::isDynamic(ms) && ms == ss))
          continue;
        Value m = dimValue(rewriter, loc, mask, i);
        Value s = dimValue(rewriter, loc, scoresFrom, scoresDim);
        Value ok = arith::OrIOp::create(rewriter, loc,
                                        cmp(arith::CmpIPredicate::eq, m, one),
                                        cmp(arith::CmpIPredicate::eq, m, s));
        assertThat(ok, "mask dim " + Twine(i) +
                           " is neither 1 nor the size of score dim " +
                           Twine(d));
      }
    }
    for (Value input : inputs) {
      auto type = cast<RankedTensorType>(input.getType());
      auto buffer = bufferization::ToBufferOp::create(
          rewriter, loc, anyLayout(type), input, /*read_only=*/true);
      pass(buffer);
    }
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < rank; ++d) {
      if (!resultType.isDynamicDim(d))
        continue;
      if (d >= heads) { // Hq, Sq from q; Dv from v
        Value from = d == rank - 1 ? op.getV() : op.getQ();
        dynamicSizes.push_back(dimValue(rewriter, loc, from, d));
        continue;
      }
      // A leading dim is the broadcast of every operand's.
      SmallVector<Value> sizes;
      for (Value input : inputs) {
        auto type = cast<RankedTensorType>(input.getType());
        int64_t at = d - (rank - type.getRank());
        if (at >= 0 && type.getDimSize(at) != 1)
          sizes.push_back(dimValue(rewriter, loc, input, at));
      }
      dynamicSizes.push_back(combineBroadcastSizes(rewriter, loc, sizes));
    }
    auto outType = MemRefType::get(resultType.getShape(), f32);
    Value out = memref::AllocOp::create(rewriter, loc, outType, dynamicSizes,
                                        {}, rewriter.getI64IntegerAttr(64));
    pass(out);
    int64_t causal = op.getCausal() == "upper_left"    ? 1
                     : op.getCausal() == "lower_right" ? 2
                                                       : 0;
    args.push_back(arith::ConstantOp::create(rewriter, loc, op.getScaleAttr()));
    args.push_back(
        arith::ConstantOp::create(rewriter, loc, op.getSoftcapAttr()));
    args.push_back(arith::ConstantOp::create(
        rewriter, loc, rewriter.getI64IntegerAttr(causal)));
    if (op.getMask())
      args.push_back(arith::ConstantOp::create(
          rewriter, loc,
          op.getMaskedScoreAttr()
              ? op.getMaskedScoreAttr()
              : rewriter.getF32FloatAttr(
                    -std::numeric_limits<float>::infinity())));

    StringRef symbol = op.getMask() ? rt::entry::kAttentionMaskedF32
                                    : rt::entry::kAttentionF32;
    LLVM_DEBUG(llvm::dbgs()
               << "attention at " << loc << " calls " << symbol << "\n");
    auto module = op->getParentOfType<ModuleOp>();
    auto callee = module.lookupSymbol<func::FuncOp>(symbol);
    if (!callee) {
      // The declaration lives outside the function being rewritten.
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      callee = func::FuncOp::create(
          b, module.getLoc(), symbol,
          b.getFunctionType(ValueRange(args).getTypes(), {}));
      callee.setPrivate();
    }
    func::CallOp::create(rewriter, loc, callee, args);
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
        op, resultType, out, /*restrict=*/true, /*writable=*/true);
    return success();
  }
};

struct CpuAttentionToRuntimePass
    : impl::CpuAttentionToRuntimePassBase<CpuAttentionToRuntimePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AttentionToCall>(&getContext());
    FrozenRewritePatternSet frozen(std::move(patterns));
    // Function by function: the pattern declares the runtime entry point in
    // the module.
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      GreedyRewriteConfig config;
      config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
      (void)applyPatternsGreedily(func, frozen, config);
      func.walk([&](AttentionOp op) {
        op.emitError("bathy.attention has no CPU lowering for these types");
        signalPassFailure();
      });
    }
  }
};

} // namespace
} // namespace bathy
