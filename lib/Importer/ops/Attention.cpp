//===- Attention.cpp - ONNX Attention-23 and RotaryEmbedding-23 -----------===//
//
// The fused transformer ops of opset 23. Attention becomes one
// bathy.attention (grouped heads, causal triangle and soft cap included)
// unless its qk_matmul_output is used; then it is decomposed into core
// bathy ops following ONNX's reference semantics. RotaryEmbedding is
// decomposed.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <limits>

#include "OpRegistry.h"

using namespace mlir;

namespace bathy::onnx_import {
namespace {

/// Small builder helpers over a NodeContext; each returns failure after the
/// error has been reported.
struct Emitter {
  NodeContext &ctx;
  OpBuilder &b;
  explicit Emitter(NodeContext &c) : ctx(c), b(c.builder()) {}

  FailureOr<Value> transpose(Value v, ArrayRef<int64_t> perm) {
    return ctx.build<TransposeOp>(v, b.getDenseI64ArrayAttr(perm));
  }
  FailureOr<Value> slice(Value v, int64_t axis, int64_t start, int64_t end,
                         int64_t step = 1) {
    return ctx.build<SliceOp>(
        v, b.getDenseI64ArrayAttr({axis}), b.getDenseI64ArrayAttr({start}),
        b.getDenseI64ArrayAttr({end}), b.getDenseI64ArrayAttr({step}));
  }
  FailureOr<Value> reshape(Value v, ArrayRef<int64_t> target) {
    return ctx.build<DynamicReshapeOp>(v, ctx.constantI64(target),
                                       b.getBoolAttr(false));
  }
  FailureOr<Value> unsqueeze(Value v, ArrayRef<int64_t> axes) {
    return ctx.build<UnsqueezeOp>(v, b.getDenseI64ArrayAttr(axes));
  }
  FailureOr<Value> concat(ArrayRef<Value> vs, int64_t axis) {
    return ctx.build<ConcatOp>(ValueRange(vs), b.getI64IntegerAttr(axis));
  }
  /// dims [start, end) of v's shape as a 1-D i64 tensor.
  FailureOr<Value> dims(Value v, int64_t start, int64_t end) {
    return ctx.build<ShapeOp>(v, b.getI64IntegerAttr(start),
                              b.getI64IntegerAttr(end));
  }
  template <typename OpTy> FailureOr<Value> binary(Value x, Value y) {
    return ctx.build<OpTy>(x, y);
  }
  Value scalar(Value like, double v) {
    return ctx.constantScalarOf(NodeContext::elementOf(like), v);
  }
};

/// Static size of dim `d`, or failure with an error naming `what`.
FailureOr<int64_t> staticDim(NodeContext &ctx, Value v, int64_t d,
                             StringRef what) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.isDynamicDim(d))
    return ctx.emitError() << what << " must be static";
  return type.getDimSize(d);
}

//===----------------------------------------------------------------------===//
// RotaryEmbedding-23
//===----------------------------------------------------------------------===//

LogicalResult rotaryEmbedding(NodeContext &ctx) {
  Emitter e(ctx);
  FailureOr<Value> input = ctx.requiredInput(0, "input");
  FailureOr<Value> cosCache = ctx.requiredInput(1, "cos_cache");
  FailureOr<Value> sinCache = ctx.requiredInput(2, "sin_cache");
  FailureOr<int64_t> interleaved = ctx.attrInt("interleaved", 0);
  FailureOr<int64_t> rotaryDim = ctx.attrInt("rotary_embedding_dim", 0);
  FailureOr<int64_t> numHeads = ctx.attrInt("num_heads", 0);
  if (failed(input) || failed(cosCache) || failed(sinCache) ||
      failed(interleaved) || failed(rotaryDim) || failed(numHeads))
    return failure();
  FailureOr<int64_t> rank = ctx.requireRank(*input, "the input");
  if (failed(rank))
    return failure();
  if (*rank != 3 && *rank != 4)
    return ctx.emitError() << "input must be 3-D or 4-D, got rank " << *rank;

  // Work in [batch, seq, heads, head_size].
  Value x = *input;
  int64_t headSize;
  if (*rank == 4) {
    FailureOr<Value> t = e.transpose(x, {0, 2, 1, 3});
    FailureOr<int64_t> d = staticDim(ctx, x, 3, "the head size");
    if (failed(t) || failed(d))
      return failure();
    x = *t;
    headSize = *d;
  } else {
    if (*numHeads <= 0)
      return ctx.emitError() << "3-D input needs num_heads";
    FailureOr<int64_t> hidden = staticDim(ctx, x, 2, "the hidden size");
    if (failed(hidden))
      return failure();
    if (*hidden % *numHeads != 0)
      return ctx.emitError() << "hidden size " << *hidden
                             << " is not divisible by num_heads " << *numHeads;
    headSize = *hidden / *numHeads;
    FailureOr<Value> r = e.reshape(x, {0, 0, *numHeads, headSize});
    if (failed(r))
      return failure();
    x = *r;
  }
  int64_t rot = *rotaryDim > 0 ? *rotaryDim : headSize;
  if (rot > headSize || rot % 2 != 0)
    return ctx.emitError() << "rotary_embedding_dim " << rot
                           << " must be even and at most the head size "
                           << headSize;
  int64_t half = rot / 2;

  // cos/sin: [batch, seq, rot/2] (gathered by position ids), then a heads dim.
  Value cos = *cosCache, sin = *sinCache;
  if (Value positions = ctx.input(3)) {
    FailureOr<Value> c =
        ctx.build<GatherOp>(cos, positions, e.b.getI64IntegerAttr(0));
    FailureOr<Value> s =
        ctx.build<GatherOp>(sin, positions, e.b.getI64IntegerAttr(0));
    if (failed(c) || failed(s))
      return failure();
    cos = *c;
    sin = *s;
  }
  FailureOr<Value> cos4 = e.unsqueeze(cos, {2});
  FailureOr<Value> sin4 = e.unsqueeze(sin, {2});
  if (failed(cos4) || failed(sin4))
    return failure();

  FailureOr<Value> rotated = e.slice(x, 3, 0, rot);
  if (failed(rotated))
    return failure();
  FailureOr<Value> x1 = *interleaved ? e.slice(*rotated, 3, 0, rot, 2)
                                     : e.slice(*rotated, 3, 0, half);
  FailureOr<Value> x2 = *interleaved ? e.slice(*rotated, 3, 1, rot, 2)
                                     : e.slice(*rotated, 3, half, rot);
  if (failed(x1) || failed(x2))
    return failure();
  FailureOr<Value> c1 = e.binary<MulOp>(*cos4, *x1);
  FailureOr<Value> s2 = e.binary<MulOp>(*sin4, *x2);
  FailureOr<Value> s1 = e.binary<MulOp>(*sin4, *x1);
  FailureOr<Value> c2 = e.binary<MulOp>(*cos4, *x2);
  if (failed(c1) || failed(s2) || failed(s1) || failed(c2))
    return failure();
  FailureOr<Value> real = e.binary<SubOp>(*c1, *s2);
  FailureOr<Value> imag = e.binary<AddOp>(*s1, *c2);
  if (failed(real) || failed(imag))
    return failure();
  FailureOr<Value> joined;
  if (*interleaved) {
    FailureOr<Value> r5 = e.unsqueeze(*real, {4});
    FailureOr<Value> i5 = e.unsqueeze(*imag, {4});
    if (failed(r5) || failed(i5))
      return failure();
    FailureOr<Value> pairs = e.concat({*r5, *i5}, 4);
    if (failed(pairs))
      return failure();
    joined = e.reshape(*pairs, {0, 0, 0, rot});
  } else {
    joined = e.concat({*real, *imag}, 3);
  }
  if (failed(joined))
    return failure();
  Value out = *joined;
  if (rot < headSize) {
    FailureOr<Value> rest = e.slice(x, 3, rot, headSize);
    if (failed(rest))
      return failure();
    FailureOr<Value> full = e.concat({out, *rest}, 3);
    if (failed(full))
      return failure();
    out = *full;
  }
  FailureOr<Value> result = *rank == 4
                                ? e.transpose(out, {0, 2, 1, 3})
                                : e.reshape(out, {0, 0, *numHeads * headSize});
  return failed(result) ? failure() : ctx.setResults(*result);
}

//===----------------------------------------------------------------------===//
// Attention-23
//===----------------------------------------------------------------------===//

/// [B, S, H*D] -> [B, H, S, D].
FailureOr<Value> splitHeads(Emitter &e, Value v, int64_t heads,
                            StringRef what) {
  FailureOr<int64_t> hidden = staticDim(e.ctx, v, 2, what);
  if (failed(hidden))
    return failure();
  if (heads <= 0 || *hidden % heads != 0)
    return e.ctx.emitError() << what << " " << *hidden
                             << " is not divisible into " << heads << " heads";
  FailureOr<Value> r = e.reshape(v, {0, 0, heads, *hidden / heads});
  if (failed(r))
    return failure();
  return e.transpose(*r, {0, 2, 1, 3});
}

/// Repeats each of the kv heads `reps` times along dim 1 (np.repeat).
FailureOr<Value> repeatHeads(Emitter &e, Value v, int64_t reps) {
  if (reps == 1)
    return v;
  FailureOr<Value> u = e.unsqueeze(v, {2}); // [B, Hkv, 1, S, D]
  FailureOr<Value> lead = e.dims(v, 0, 2);
  FailureOr<Value> tail = e.dims(v, 2, 4);
  if (failed(u) || failed(lead) || failed(tail))
    return failure();
  FailureOr<Value> target =
      e.concat({*lead, e.ctx.constantI64({reps}), *tail}, 0);
  if (failed(target))
    return failure();
  FailureOr<Value> expanded = e.ctx.build<ExpandOp>(*u, *target);
  if (failed(expanded))
    return failure();
  FailureOr<int64_t> kvHeads = staticDim(e.ctx, v, 1, "the number of kv heads");
  FailureOr<Value> batch = e.dims(v, 0, 1);
  if (failed(kvHeads) || failed(batch))
    return failure();
  FailureOr<Value> merged =
      e.concat({*batch, e.ctx.constantI64({*kvHeads * reps}), *tail}, 0);
  if (failed(merged))
    return failure();
  return e.ctx.build<DynamicReshapeOp>(*expanded, *merged,
                                       e.b.getBoolAttr(false));
}

/// The output back in the inputs' layout: [B, H, S, Dv], or for 3-D
/// inputs [B, S, H * Dv].
FailureOr<Value> mergeHeads(Emitter &e, Value out, int64_t rank, int64_t heads,
                            Value v) {
  if (rank == 4)
    return out;
  FailureOr<Value> t = e.transpose(out, {0, 2, 1, 3});
  FailureOr<int64_t> vHead = staticDim(e.ctx, v, 3, "the value head size");
  if (failed(t) || failed(vHead))
    return failure();
  return e.reshape(*t, {0, 0, heads * *vHead});
}

LogicalResult attention(NodeContext &ctx) {
  Emitter e(ctx);
  FailureOr<Value> q = ctx.requiredInput(0, "Q");
  FailureOr<Value> k = ctx.requiredInput(1, "K");
  FailureOr<Value> v = ctx.requiredInput(2, "V");
  FailureOr<int64_t> isCausal = ctx.attrInt("is_causal", 0);
  FailureOr<int64_t> qHeads = ctx.attrInt("q_num_heads", 0);
  FailureOr<int64_t> kvHeadsAttr = ctx.attrInt("kv_num_heads", 0);
  FailureOr<float> softcap = ctx.attrFloat("softcap", 0.0f);
  FailureOr<int64_t> qkMode = ctx.attrInt("qk_matmul_output_mode", 0);
  if (failed(q) || failed(k) || failed(v) || failed(isCausal) ||
      failed(qHeads) || failed(kvHeadsAttr) || failed(softcap) ||
      failed(qkMode))
    return failure();
  if (ctx.input(6))
    return ctx.emitError() << "nonpad_kv_seqlen is not supported";
  FailureOr<int64_t> rank = ctx.requireRank(*q, "Q");
  if (failed(rank))
    return failure();
  if (*rank != 3 && *rank != 4)
    return ctx.emitError() << "Q must be 3-D or 4-D, got rank " << *rank;
  Value Q = *q, K = *k, V = *v;
  if (*rank == 3) {
    if (*qHeads <= 0 || *kvHeadsAttr <= 0)
      return ctx.emitError() << "3-D inputs need q_num_heads and kv_num_heads";
    FailureOr<Value> q4 = splitHeads(e, Q, *qHeads, "the query hidden size");
    FailureOr<Value> k4 = splitHeads(e, K, *kvHeadsAttr, "the key hidden size");
    FailureOr<Value> v4 =
        splitHeads(e, V, *kvHeadsAttr, "the value hidden size");
    if (failed(q4) || failed(k4) || failed(v4))
      return failure();
    Q = *q4;
    K = *k4;
    V = *v4;
  }
  FailureOr<int64_t> headSize = staticDim(ctx, Q, 3, "the query head size");
  FailureOr<int64_t> numQ = staticDim(ctx, Q, 1, "the number of query heads");
  FailureOr<int64_t> numKV = staticDim(ctx, K, 1, "the number of kv heads");
  if (failed(headSize) || failed(numQ) || failed(numKV))
    return failure();
  double scale = 1.0 / std::sqrt(static_cast<double>(*headSize));
  if (ctx.hasAttr("scale")) {
    FailureOr<float> s = ctx.attrFloat("scale", std::nullopt);
    if (failed(s))
      return failure();
    scale = *s;
  }

  // Past keys and values come first along the sequence.
  Value pastKey = ctx.input(4), pastValue = ctx.input(5);
  if (pastKey) {
    FailureOr<Value> kk = e.concat({pastKey, K}, 2);
    if (failed(kk))
      return failure();
    K = *kk;
  }
  if (pastValue) {
    FailureOr<Value> vv = e.concat({pastValue, V}, 2);
    if (failed(vv))
      return failure();
    V = *vv;
  }
  Value presentKey = K, presentValue = V;

  // The mask as an additive bias: padded with "masked out" when shorter
  // than the kv sequence, bool -> 0 / -inf.
  double negInf = -std::numeric_limits<double>::infinity();
  Value mask = ctx.input(3);
  if (mask) {
    auto maskType = dyn_cast<RankedTensorType>(mask.getType());
    auto keyType = dyn_cast<RankedTensorType>(K.getType());
    bool isBool = NodeContext::elementOf(mask).isInteger(1);
    if (maskType && keyType && !maskType.isDynamicDim(maskType.getRank() - 1) &&
        !keyType.isDynamicDim(2) &&
        maskType.getDimSize(maskType.getRank() - 1) < keyType.getDimSize(2)) {
      SmallVector<int64_t> pads(2 * maskType.getRank(), 0);
      pads.back() =
          keyType.getDimSize(2) - maskType.getDimSize(maskType.getRank() - 1);
      FailureOr<Value> padded = ctx.build<PadOp>(
          mask, e.b.getDenseI64ArrayAttr(pads), e.b.getStringAttr("constant"),
          e.b.getF64FloatAttr(isBool ? 0.0 : negInf));
      if (failed(padded))
        return failure();
      mask = *padded;
    }
    if (isBool) {
      FailureOr<Value> bias =
          ctx.build<WhereOp>(mask, e.scalar(Q, 0.0), e.scalar(Q, negInf));
      if (failed(bias))
        return failure();
      mask = *bias;
    }
  }

  // Without the qk_matmul_output output, one bathy.attention: grouped
  // heads, the causal triangle (after the past keys: aligned lower right)
  // and the soft cap are its own.
  if (!ctx.outputUsed(3)) {
    StringRef causal = !*isCausal ? "none"
                       : pastKey  ? "lower_right"
                                  : "upper_left";
    FailureOr<Value> y = ctx.build<AttentionOp>(
        Q, K, V, mask, e.b.getF32FloatAttr(static_cast<float>(scale)),
        e.b.getF32FloatAttr(*softcap > 0 ? *softcap : 0.0f),
        e.b.getStringAttr(causal), FloatAttr());
    if (failed(y))
      return failure();
    FailureOr<Value> out = mergeHeads(e, *y, *rank, *numQ, V);
    if (failed(out))
      return failure();
    return ctx.setResults({*out, presentKey, presentValue});
  }

  if (*numQ != *numKV) {
    if (*numQ % *numKV != 0)
      return ctx.emitError()
             << *numQ << " query heads cannot share " << *numKV << " kv heads";
    FailureOr<Value> kr = repeatHeads(e, K, *numQ / *numKV);
    FailureOr<Value> vr = repeatHeads(e, V, *numQ / *numKV);
    if (failed(kr) || failed(vr))
      return failure();
    K = *kr;
    V = *vr;
  }

  // scores = Q @ K^T * scale, optionally soft-capped.
  FailureOr<Value> kt = e.transpose(K, {0, 1, 3, 2});
  if (failed(kt))
    return failure();
  FailureOr<Value> scores = e.binary<MatmulOp>(Q, *kt);
  if (failed(scores))
    return failure();
  scores = e.binary<MulOp>(*scores, e.scalar(Q, scale));
  if (failed(scores))
    return failure();
  if (*softcap > 0) {
    FailureOr<Value> d = e.binary<DivOp>(*scores, e.scalar(Q, *softcap));
    if (failed(d))
      return failure();
    FailureOr<Value> t = ctx.build<TanhOp>(*d);
    if (failed(t))
      return failure();
    scores = e.binary<MulOp>(*t, e.scalar(Q, *softcap));
    if (failed(scores))
      return failure();
  }
  Value qkOutput = *scores;

  // The bias: the mask, then the causal triangle.
  Value withBias = *scores;
  if (mask) {
    FailureOr<Value> added = e.binary<AddOp>(withBias, mask);
    if (failed(added))
      return failure();
    withBias = *added;
  }
  if (*isCausal) {
    // masked where col > row + past, for rows [0, q_len), cols [0, kv_len).
    Type i64 = e.b.getI64Type();
    FailureOr<Value> qLenV = e.dims(Q, 2, 3);
    FailureOr<Value> kvLenV = e.dims(K, 2, 3);
    if (failed(qLenV) || failed(kvLenV))
      return failure();
    auto toScalar = [&](Value v) {
      return ctx.build<SqueezeOp>(v, e.b.getDenseI64ArrayAttr({0}));
    };
    FailureOr<Value> qLen = toScalar(*qLenV);
    FailureOr<Value> kvLen = toScalar(*kvLenV);
    if (failed(qLen) || failed(kvLen))
      return failure();
    Value zero = ctx.constantScalarOf(i64, 0),
          one = ctx.constantScalarOf(i64, 1);
    FailureOr<Value> rows = ctx.build<RangeOp>(zero, *qLen, one);
    FailureOr<Value> cols = ctx.build<RangeOp>(zero, *kvLen, one);
    if (failed(rows) || failed(cols))
      return failure();
    Value past = zero;
    if (pastKey) {
      FailureOr<Value> p = e.dims(pastKey, 2, 3);
      if (failed(p))
        return failure();
      FailureOr<Value> ps = toScalar(*p);
      if (failed(ps))
        return failure();
      past = *ps;
    }
    FailureOr<Value> shifted = e.binary<AddOp>(*rows, past);
    FailureOr<Value> rowCol = failed(shifted) ? FailureOr<Value>(failure())
                                              : e.unsqueeze(*shifted, {1});
    if (failed(rowCol))
      return failure();
    FailureOr<Value> masked = ctx.build<GreaterOp>(*cols, *rowCol);
    if (failed(masked))
      return failure();
    FailureOr<Value> causal =
        ctx.build<WhereOp>(*masked, e.scalar(Q, negInf), e.scalar(Q, 0.0));
    if (failed(causal))
      return failure();
    FailureOr<Value> added = e.binary<AddOp>(withBias, *causal);
    if (failed(added))
      return failure();
    withBias = *added;
  }
  if (*qkMode == 2)
    qkOutput = withBias;
  FailureOr<Value> probs =
      ctx.build<SoftmaxOp>(withBias, e.b.getI64IntegerAttr(3));
  if (failed(probs))
    return failure();
  if (*qkMode == 3)
    qkOutput = *probs;
  FailureOr<Value> y = e.binary<MatmulOp>(*probs, V);
  if (failed(y))
    return failure();
  FailureOr<Value> out = mergeHeads(e, *y, *rank, *numQ, V);
  if (failed(out))
    return failure();
  return ctx.setResults({*out, presentKey, presentValue, qkOutput});
}

} // namespace

void populateAttentionHandlers(OpRegistry &r) {
  r.add("RotaryEmbedding", 23, rotaryEmbedding);
  r.add("Attention", 23, attention);
}

} // namespace bathy::onnx_import
