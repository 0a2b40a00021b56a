//===- FusionAttention.cpp - Recognise attention and make it one op -------===//
//
// Exported transformer models spell attention out:
//
//   s = matmul(q, transpose(k)) [* c | / c]   (scale, also on q or kᵀ)
//   s = s + mask                               (optional, broadcasting)
//   o = matmul(softmax(s, last axis), v)
//
// This pass replaces such a chain by one bathy.attention, which the CPU
// lowers to a flash-style kernel that never materialises s. Keys and values
// repeated for grouped-query attention (unsqueeze → expand → reshape of the
// head dim, as transformers' `repeat_kv` exports) are read un-repeated.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include <limits>

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-fusion-attention"

namespace bathy {
#define GEN_PASS_DEF_FUSIONATTENTIONPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

namespace {

/// The value of a scalar-like (every element equal) float constant.
std::optional<double> splatScalar(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

bool inEqualDims(Operation *op, int64_t d) {
  auto dims = op->getAttrOfType<DenseI64ArrayAttr>(kEqualDimsAttr);
  return dims && llvm::is_contained(dims.asArrayRef(), d);
}

/// Whether two operand sizes meeting at result dim `d` of the broadcasting
/// op `op` are known to be the same size (not a broadcast).
bool sameSize(int64_t a, int64_t b, Operation *op, int64_t d) {
  if (a != kDyn && b != kDyn)
    return a == b;
  return a != 1 && b != 1 && inEqualDims(op, d);
}

/// `value` with a single-use scalar multiplication or division peeled off,
/// the factor folded into `scale`.
Value peelScale(Value value, double &scale,
                SmallVectorImpl<Operation *> &chain) {
  Operation *def = value.getDefiningOp();
  if (!def || !value.hasOneUse())
    return value;
  if (auto mul = dyn_cast<MulOp>(def)) {
    for (int i = 0; i < 2; ++i)
      if (std::optional<double> c = splatScalar(mul->getOperand(1 - i))) {
        if (cast<ShapedType>(mul->getOperand(1 - i).getType()).getRank() > 0)
          continue; // only a true scalar keeps the shape
        scale *= *c;
        chain.push_back(def);
        return mul->getOperand(i);
      }
  }
  if (auto div = dyn_cast<DivOp>(def))
    if (std::optional<double> c = splatScalar(div.getRhs()))
      if (*c != 0.0 &&
          cast<ShapedType>(div.getRhs().getType()).getRank() == 0) {
        scale /= *c;
        chain.push_back(def);
        return div.getLhs();
      }
  return value;
}

/// Heads repeated for grouped-query attention: x [..., Hkv, S, D] →
/// unsqueeze at Hkv+1 → expand to [..., Hkv, n, S, D] → reshape to
/// [..., Hkv*n, S, D]. Returns x, or null if `value` is not built so; the
/// three ops go to `ops`.
Value stripRepeatedHeads(Value value, SmallVectorImpl<Operation *> &ops) {
  auto reshape = value.getDefiningOp<ReshapeOp>();
  if (!reshape)
    return {};
  auto expand = reshape.getInput().getDefiningOp<ExpandOp>();
  if (!expand)
    return {};
  auto unsqueeze = expand.getInput().getDefiningOp<UnsqueezeOp>();
  if (!unsqueeze)
    return {};
  Value x = unsqueeze.getInput();
  auto xt = dyn_cast<RankedTensorType>(x.getType());
  auto et = dyn_cast<RankedTensorType>(expand.getType());
  auto ut = dyn_cast<RankedTensorType>(unsqueeze.getType());
  auto rt = dyn_cast<RankedTensorType>(reshape.getType());
  if (!xt || !et || !ut || !rt || xt.getRank() < 3 ||
      rt.getRank() != xt.getRank())
    return {};
  int64_t r = xt.getRank(), heads = r - 3, rep = r - 2;
  if (unsqueeze.getAxes().size() != 1 || unsqueeze.getAxes()[0] != rep)
    return {};
  int64_t hkv = xt.getDimSize(heads), n = et.getDimSize(rep);
  if (hkv == kDyn || n == kDyn || rt.getDimSize(heads) != hkv * n)
    return {};
  // Every other dim passes through unchanged.
  for (int64_t d = 0; d < r; ++d) {
    if (d == heads)
      continue;
    int64_t e = d < rep ? d : d + 1;
    int64_t xs = xt.getDimSize(d), es = et.getDimSize(e), rs = rt.getDimSize(d);
    bool same = xs != kDyn
                    ? (es == xs && rs == xs)
                    : (es == kDyn && rs == kDyn && inEqualDims(expand, e));
    if (!same)
      return {};
  }
  ops.append({unsqueeze, expand, reshape});
  return x;
}

struct FuseAttentionChain : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp pv,
                                PatternRewriter &rewriter) const override {
    SmallVector<Operation *> chain; // in reverse program order
    auto softmax = pv.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax || !pv.getLhs().hasOneUse())
      return rewriter.notifyMatchFailure(pv, "lhs is not a single-use softmax");
    auto out = dyn_cast<RankedTensorType>(pv.getType());
    auto probs = dyn_cast<RankedTensorType>(softmax.getType());
    if (!out || !probs || out.getRank() < 3 ||
        static_cast<int64_t>(softmax.getAxis()) != probs.getRank() - 1 ||
        !isa<FloatType>(out.getElementType()))
      return rewriter.notifyMatchFailure(pv, "not a ranked last-axis softmax");
    const int64_t rank = out.getRank();
    chain.push_back(softmax);

    // Scores: [scale] then [mask], walking back from the softmax. A scale
    // applied after the mask would scale the mask too: not matched.
    double scale = 1.0;
    size_t outerScales = chain.size();
    Value scores = peelScale(softmax.getInput(), scale, chain);
    outerScales = chain.size() - outerScales;
    // Between the scores and the softmax, optionally, an add of a mask or
    // the masked_fill form where(keep, scores, c) (or where(drop, c,
    // scores)), which becomes a 0/-inf mask whose -inf entries score c
    // (masked_score).
    Value mask, cond;
    WhereOp fillWhere;
    bool keepOnTrue = true;
    double fill = 0.0;
    Operation *masking = scores.hasOneUse() ? scores.getDefiningOp() : nullptr;
    if (isa_and_nonnull<AddOp, WhereOp>(masking)) {
      auto where = dyn_cast<WhereOp>(masking);
      // Operands that may hold the scores: lhs/rhs (add: 0, 1; where: 1, 2).
      for (unsigned i = where ? 1 : 0, e = where ? 3 : 2; i < e; ++i) {
        Value other = masking->getOperand(where ? 3 - i : 1 - i);
        std::optional<double> c;
        if (where && (!(c = splatScalar(other)) ||
                      cast<ShapedType>(other.getType()).getRank() != 0))
          continue;
        double s = scale;
        SmallVector<Operation *> inner;
        Value core = peelScale(masking->getOperand(i), s, inner);
        if (!core.getDefiningOp<MatmulOp>() || !core.hasOneUse())
          continue;
        if (outerScales)
          return rewriter.notifyMatchFailure(pv, "scale applied after mask");
        if (where) {
          cond = where.getCondition();
          fillWhere = where;
          keepOnTrue = i == 1;
          fill = *c;
        } else {
          mask = other;
        }
        chain.push_back(masking);
        chain.append(inner);
        scale = s;
        scores = core;
        break;
      }
    }
    auto qk = scores.getDefiningOp<MatmulOp>();
    if (!qk || !scores.hasOneUse())
      return rewriter.notifyMatchFailure(pv, "scores are not a matmul");
    chain.push_back(qk);
    Value q = peelScale(qk.getLhs(), scale, chain);
    Value kt = peelScale(qk.getRhs(), scale, chain);
    Value v = pv.getRhs();
    auto qt = dyn_cast<RankedTensorType>(q.getType());
    auto ktt = dyn_cast<RankedTensorType>(kt.getType());
    auto vt = dyn_cast<RankedTensorType>(v.getType());
    auto st = dyn_cast<RankedTensorType>(qk.getType());
    if (!qt || !ktt || !vt || !st || qt.getRank() != rank ||
        ktt.getRank() != rank || vt.getRank() != rank || st.getRank() != rank)
      return rewriter.notifyMatchFailure(pv, "operands of different ranks");
    // Leading dims broadcast in bathy.attention as in the two matmuls. Head
    // dims must match in both products, or k and v have one head for all.
    const int64_t h = rank - 3;
    bool sameHeads = sameSize(qt.getDimSize(h), ktt.getDimSize(h), qk, h) &&
                     sameSize(probs.getDimSize(h), vt.getDimSize(h), pv, h);
    bool oneHead = ktt.getDimSize(h) == 1 && vt.getDimSize(h) == 1;
    if (!sameHeads && !oneHead)
      return rewriter.notifyMatchFailure(pv, "head dims may differ");
    // The mask may broadcast up to the scores, never enlarge them.
    if (Value shaped = mask ? mask : cond) {
      auto mt = dyn_cast<RankedTensorType>(shaped.getType());
      if (!mt || mt.getRank() > rank ||
          (mask && mt.getElementType() != out.getElementType()))
        return rewriter.notifyMatchFailure(pv, "unsupported mask");
      // Dynamic sizes not proven equal are checked when the kernel runs
      // (the lowering asserts each is 1 or the score size); leading dims
      // broadcast.
      for (int64_t i = 0; i < mt.getRank(); ++i) {
        int64_t d = rank - mt.getRank() + i;
        if (d < h)
          continue;
        int64_t ms = mt.getDimSize(i), ss = st.getDimSize(d);
        if (ms != 1 && ms != kDyn && ss != kDyn && ms != ss)
          return rewriter.notifyMatchFailure(pv, "mask enlarges the scores");
      }
    }

    // k = transpose of kᵀ's last two dims, composed with a transpose that
    // produced kᵀ.
    // The new transpose stands for the one it replaces (or for the matmul
    // that read kᵀ as it was).
    Location loc = qk.getLoc();
    SmallVector<int64_t> perm;
    Value kSource = kt;
    // Ops that die with the chain: their nodes join its provenance.
    SmallVector<Operation *> absorbed;
    if (auto t = kt.getDefiningOp<TransposeOp>()) {
      perm = llvm::to_vector(t.getPerm());
      kSource = t.getInput();
      loc = t.getLoc();
      if (kt.hasOneUse())
        absorbed.push_back(t);
    } else {
      for (int64_t d = 0; d < rank; ++d)
        perm.push_back(d);
    }
    std::swap(perm[rank - 1], perm[rank - 2]);
    bool identity = llvm::equal(perm, llvm::seq<int64_t>(0, rank));
    Value k = kSource;
    if (!identity) {
      k = TransposeOp::create(rewriter, loc, kSource,
                              rewriter.getDenseI64ArrayAttr(perm));
      llvm::erase(absorbed, kt.getDefiningOp()); // the new one stands for it
    }
    // Grouped-query heads: read keys and values before their repetition
    // when both were repeated the same way.
    SmallVector<Operation *> repeats;
    Value kBase = stripRepeatedHeads(k, repeats),
          vBase = stripRepeatedHeads(v, repeats);
    if (kBase && vBase &&
        cast<ShapedType>(kBase.getType()).getDimSize(rank - 3) ==
            cast<ShapedType>(vBase.getType()).getDimSize(rank - 3)) {
      k = kBase;
      v = vBase;
      for (Operation *op : repeats)
        if (op->getResult(0).hasOneUse())
          absorbed.push_back(op);
    }

    // Provenance: every replaced node, in program order.
    chain.append(absorbed);
    chain.push_back(pv);
    llvm::sort(chain, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    SmallVector<Location> locs;
    for (Operation *op : chain)
      locs.push_back(op->getLoc());
    Location fused = FusedLoc::get(rewriter.getContext(), locs);
    FloatAttr maskedScore;
    if (cond) {
      auto elem = cast<FloatType>(out.getElementType());
      auto scalar = [&](double value) -> Value {
        auto type = RankedTensorType::get({}, elem);
        return ConstantOp::create(
            rewriter, fillWhere.getLoc(),
            DenseElementsAttr::get(type, FloatAttr::get(elem, value)));
      };
      Value zero = scalar(0.0),
            dropped = scalar(-std::numeric_limits<double>::infinity());
      mask = WhereOp::create(
          rewriter, fillWhere.getLoc(),
          RankedTensorType::get(
              cast<RankedTensorType>(cond.getType()).getShape(), elem),
          cond, keepOnTrue ? zero : dropped, keepOnTrue ? dropped : zero);
      maskedScore = rewriter.getF32FloatAttr(static_cast<float>(fill));
    }
    auto attention =
        AttentionOp::create(rewriter, fused, out, q, k, v, mask,
                            rewriter.getF32FloatAttr(static_cast<float>(scale)),
                            rewriter.getF32FloatAttr(0.0f),
                            rewriter.getStringAttr("none"), maskedScore);
    rewriter.replaceOp(pv, attention.getResult());
    return success();
  }
};

struct FusionAttentionPass
    : bathy::impl::FusionAttentionPassBase<FusionAttentionPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func->hasAttr(kKernelAttrName) || func.isExternal())
      return;
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttentionChain>(&getContext());
    unsigned before = 0;
    func.walk([&](AttentionOp) { ++before; });
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();
    unsigned after = 0;
    func.walk([&](AttentionOp) { ++after; });
    numFused += after - before;
    LLVM_DEBUG(llvm::dbgs() << "@" << func.getSymName() << ": "
                            << after - before << " attention chains fused\n");
  }
};

} // namespace
