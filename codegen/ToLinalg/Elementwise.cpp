//===- Elementwise.cpp - Elementwise bathy ops to linalg.generic ----------===//
//
// Every op with the BathyElementwise trait becomes one linalg.generic over
// the result's dims with broadcasting index maps; the per-element body is
// built by scalarFor below. Broadcasting assumes a dynamic dim equals the
// static size it meets (or the other dynamic size), as ONNX models require.
//
//===----------------------------------------------------------------------===//
#include "Common.h"

#include <cmath>

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace bathy::codegen {
namespace {

/// The scalar result of `op` applied to `args` (one per operand, already
/// extracted, integers signless), of element type `out`. `isUnsigned` says
/// the integers are unsigned in the model. `from`/`to` are the model's
/// element types for casts. Null if unsupported.
Value scalarFor(Operation *op, OpBuilder &b, Location loc, ValueRange args,
                Type out, bool isUnsigned, Type from, Type to) {
  Type in = args.empty() ? out : args.back().getType();
  auto isUnsignedInt = [&](Type) { return isUnsigned; };
  bool isFloat = isa<FloatType>(in);
  auto cst = [&](double v) { return scalarConstant(b, loc, in, v); };
  Value x = args.empty() ? Value() : args[0];
  Value y = args.size() > 1 ? args[1] : Value();

  // Clamps against a bound that is not NaN: x < lo ? lo : x keeps NaN (the
  // comparison is false) in two instructions (compare, blend), where
  // arith.maximumf's NaN and signed-zero rules expand to several on x86.
  auto atLeast = [&](Value v, Value lo) -> Value {
    Value below =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, v, lo);
    return arith::SelectOp::create(b, loc, below, lo, v);
  };
  auto atMost = [&](Value v, Value hi) -> Value {
    Value above =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, v, hi);
    return arith::SelectOp::create(b, loc, above, hi, v);
  };

  auto sigmoid = [&](Value v) {
    Value neg = arith::NegFOp::create(b, loc, v);
    Value e = math::ExpOp::create(b, loc, neg);
    Value den = arith::AddFOp::create(b, loc, cst(1.0), e);
    return arith::DivFOp::create(b, loc, cst(1.0), den).getResult();
  };

  return llvm::TypeSwitch<Operation *, Value>(op)
      // Unary.
      .Case([&](NegOp) -> Value {
        if (isFloat)
          return arith::NegFOp::create(b, loc, x);
        return arith::SubIOp::create(b, loc, cst(0), x);
      })
      .Case([&](AbsOp) -> Value {
        if (isFloat)
          return math::AbsFOp::create(b, loc, x);
        if (isUnsignedInt(in))
          return x;
        return math::AbsIOp::create(b, loc, x);
      })
      .Case([&](SignOp) -> Value {
        if (isFloat) {
          Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                            x, cst(0));
          Value neg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                            x, cst(0));
          Value r = arith::SelectOp::create(b, loc, neg, cst(-1), cst(0));
          r = arith::SelectOp::create(b, loc, pos, cst(1), r);
          // NaN is neither: it stays NaN.
          Value nan =
              arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
          return arith::SelectOp::create(b, loc, nan, x, r);
        }
        Value pos =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, x, cst(0));
        Value neg =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, cst(0));
        Value r = arith::SelectOp::create(b, loc, neg, cst(-1), cst(0));
        return arith::SelectOp::create(b, loc, pos, cst(1), r);
      })
      // Float clamps keep NaN (maxnumf would turn it into the bound), as
      // onnxruntime does.
      .Case([&](ReluOp) -> Value {
        if (isFloat)
          return atLeast(x, cst(0));
        return arith::MaxSIOp::create(b, loc, x, cst(0));
      })
      .Case([&](ExpOp) -> Value { return math::ExpOp::create(b, loc, x); })
      .Case([&](LogOp) -> Value { return math::LogOp::create(b, loc, x); })
      .Case([&](SqrtOp) -> Value { return math::SqrtOp::create(b, loc, x); })
      .Case([&](RsqrtOp) -> Value { return math::RsqrtOp::create(b, loc, x); })
      .Case([&](ReciprocalOp) -> Value {
        return arith::DivFOp::create(b, loc, cst(1), x);
      })
      .Case([&](TanhOp) -> Value { return math::TanhOp::create(b, loc, x); })
      .Case([&](ErfOp) -> Value { return math::ErfOp::create(b, loc, x); })
      .Case([&](SigmoidOp) -> Value { return sigmoid(x); })
      .Case([&](SiluOp) -> Value {
        return arith::MulFOp::create(b, loc, x, sigmoid(x));
      })
      .Case([&](HardSwishOp) -> Value {
        Value t = arith::AddFOp::create(
            b, loc, arith::MulFOp::create(b, loc, x, cst(1.0 / 6.0)), cst(0.5));
        Value c = atMost(atLeast(t, cst(0)), cst(1));
        return arith::MulFOp::create(b, loc, x, c);
      })
      .Case([&](SoftplusOp) -> Value {
        // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): no overflow for large x.
        Value negAbs =
            arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x));
        Value tail =
            math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
        return arith::AddFOp::create(b, loc, atLeast(x, cst(0)), tail);
      })
      .Case([&](CosOp) -> Value { return math::CosOp::create(b, loc, x); })
      .Case([&](SinOp) -> Value { return math::SinOp::create(b, loc, x); })
      .Case([&](FloorOp) -> Value { return math::FloorOp::create(b, loc, x); })
      .Case([&](CeilOp) -> Value { return math::CeilOp::create(b, loc, x); })
      .Case([&](RoundOp) -> Value {
        return math::RoundEvenOp::create(b, loc, x);
      })
      .Case([&](NotOp) -> Value {
        return arith::XOrIOp::create(b, loc, x, cst(1));
      })
      .Case([&](GeluOp g) -> Value {
        if (g.getApproximate() == "tanh") {
          Value x3 = arith::MulFOp::create(b, loc, x,
                                           arith::MulFOp::create(b, loc, x, x));
          Value inner = arith::AddFOp::create(
              b, loc, x, arith::MulFOp::create(b, loc, x3, cst(0.044715)));
          Value t = math::TanhOp::create(
              b, loc,
              arith::MulFOp::create(b, loc, inner, cst(std::sqrt(2.0 / M_PI))));
          Value h = arith::MulFOp::create(
              b, loc, arith::AddFOp::create(b, loc, t, cst(1)), cst(0.5));
          return arith::MulFOp::create(b, loc, x, h);
        }
        Value e = math::ErfOp::create(
            b, loc, arith::MulFOp::create(b, loc, x, cst(M_SQRT1_2)));
        Value h = arith::MulFOp::create(
            b, loc, arith::AddFOp::create(b, loc, e, cst(1)), cst(0.5));
        return arith::MulFOp::create(b, loc, x, h);
      })
      .Case([&](LeakyReluOp l) -> Value {
        Value neg = arith::MulFOp::create(b, loc, x,
                                          cst(l.getAlpha().convertToDouble()));
        Value pos =
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, x, cst(0));
        return arith::SelectOp::create(b, loc, pos, x, neg);
      })
      .Case([&](EluOp l) -> Value {
        Value em1 = math::ExpM1Op::create(b, loc, x);
        Value neg = arith::MulFOp::create(b, loc, em1,
                                          cst(l.getAlpha().convertToDouble()));
        Value pos =
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, x, cst(0));
        return arith::SelectOp::create(b, loc, pos, x, neg);
      })
      .Case([&](HardSigmoidOp h) -> Value {
        Value t = arith::AddFOp::create(
            b, loc,
            arith::MulFOp::create(b, loc, x,
                                  cst(h.getAlpha().convertToDouble())),
            cst(h.getBeta().convertToDouble()));
        return atMost(atLeast(t, cst(0)), cst(1));
      })
      .Case([&](ClipOp c) -> Value {
        Value r = x;
        if (c.getMin()) {
          Value lo = cst(c.getMin()->convertToDouble());
          r = isFloat ? atLeast(r, lo)
              : isUnsignedInt(in)
                  ? Value(arith::MaxUIOp::create(b, loc, r, lo))
                  : Value(arith::MaxSIOp::create(b, loc, r, lo));
        }
        if (c.getMax()) {
          Value hi = cst(c.getMax()->convertToDouble());
          r = isFloat ? atMost(r, hi)
              : isUnsignedInt(in)
                  ? Value(arith::MinUIOp::create(b, loc, r, hi))
                  : Value(arith::MinSIOp::create(b, loc, r, hi));
        }
        return r;
      })
      // Binary.
      .Case([&](AddOp) -> Value {
        return isFloat ? Value(arith::AddFOp::create(b, loc, x, y))
                       : Value(arith::AddIOp::create(b, loc, x, y));
      })
      .Case([&](SubOp) -> Value {
        return isFloat ? Value(arith::SubFOp::create(b, loc, x, y))
                       : Value(arith::SubIOp::create(b, loc, x, y));
      })
      .Case([&](MulOp) -> Value {
        return isFloat ? Value(arith::MulFOp::create(b, loc, x, y))
                       : Value(arith::MulIOp::create(b, loc, x, y));
      })
      .Case([&](DivOp) -> Value {
        if (isFloat)
          return arith::DivFOp::create(b, loc, x, y);
        if (isUnsignedInt(in))
          return arith::DivUIOp::create(b, loc, x, y);
        return arith::DivSIOp::create(b, loc, x, y);
      })
      .Case([&](PowOp) -> Value {
        if (isFloat)
          return math::PowFOp::create(b, loc, x, y);
        return math::IPowIOp::create(b, loc, x, y);
      })
      .Case([&](MaxOp) -> Value {
        if (isFloat)
          return arith::MaximumFOp::create(b, loc, x, y);
        return isUnsignedInt(in) ? Value(arith::MaxUIOp::create(b, loc, x, y))
                                 : Value(arith::MaxSIOp::create(b, loc, x, y));
      })
      .Case([&](MinOp) -> Value {
        if (isFloat)
          return arith::MinimumFOp::create(b, loc, x, y);
        return isUnsignedInt(in) ? Value(arith::MinUIOp::create(b, loc, x, y))
                                 : Value(arith::MinSIOp::create(b, loc, x, y));
      })
      .Case([&](ModOp m) -> Value {
        if (isFloat)
          return arith::RemFOp::create(b, loc, x, y);
        if (isUnsignedInt(in))
          return arith::RemUIOp::create(b, loc, x, y);
        Value r = arith::RemSIOp::create(b, loc, x, y);
        if (m.getFmod())
          return r;
        // Python-style: the result takes the divisor's sign.
        Value zero = cst(0);
        Value rNonZero =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero);
        Value rNeg =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero);
        Value yNeg =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, y, zero);
        Value differ = arith::XOrIOp::create(b, loc, rNeg, yNeg);
        Value fix = arith::AndIOp::create(b, loc, rNonZero, differ);
        return arith::SelectOp::create(b, loc, fix,
                                       arith::AddIOp::create(b, loc, r, y), r);
      })
      .Case([&](PReluOp) -> Value {
        Value neg = arith::MulFOp::create(b, loc, x, y);
        Value pos =
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, x, cst(0));
        return arith::SelectOp::create(b, loc, pos, x, neg);
      })
      .Case([&](AndOp) -> Value { return arith::AndIOp::create(b, loc, x, y); })
      .Case([&](OrOp) -> Value { return arith::OrIOp::create(b, loc, x, y); })
      .Case([&](XorOp) -> Value { return arith::XOrIOp::create(b, loc, x, y); })
      .Case<EqualOp, LessOp, LessEqualOp, GreaterOp, GreaterEqualOp>(
          [&](Operation *cmp) -> Value {
            if (isFloat) {
              arith::CmpFPredicate p =
                  isa<EqualOp>(cmp)       ? arith::CmpFPredicate::OEQ
                  : isa<LessOp>(cmp)      ? arith::CmpFPredicate::OLT
                  : isa<LessEqualOp>(cmp) ? arith::CmpFPredicate::OLE
                  : isa<GreaterOp>(cmp)   ? arith::CmpFPredicate::OGT
                                          : arith::CmpFPredicate::OGE;
              return arith::CmpFOp::create(b, loc, p, x, y);
            }
            bool u = isUnsignedInt(in);
            arith::CmpIPredicate p =
                isa<EqualOp>(cmp)       ? arith::CmpIPredicate::eq
                : isa<LessOp>(cmp)      ? (u ? arith::CmpIPredicate::ult
                                             : arith::CmpIPredicate::slt)
                : isa<LessEqualOp>(cmp) ? (u ? arith::CmpIPredicate::ule
                                             : arith::CmpIPredicate::sle)
                : isa<GreaterOp>(cmp)   ? (u ? arith::CmpIPredicate::ugt
                                             : arith::CmpIPredicate::sgt)
                                        : (u ? arith::CmpIPredicate::uge
                                             : arith::CmpIPredicate::sge);
            return arith::CmpIOp::create(b, loc, p, x, y);
          })
      .Case([&](WhereOp) -> Value {
        return arith::SelectOp::create(b, loc, args[0], args[1], args[2]);
      })
      .Case([&](CastOp) -> Value {
        // Values arrive and leave signless; `from`/`to` carry signedness.
        auto fromInt = dyn_cast<IntegerType>(from);
        auto toInt = dyn_cast<IntegerType>(to);
        auto fromF = dyn_cast<FloatType>(from);
        auto toF = dyn_cast<FloatType>(to);
        Value v = x;
        if (from == to)
          return v;
        if (toInt && toInt.getWidth() == 1)
          return fromF ? Value(arith::CmpFOp::create(
                             b, loc, arith::CmpFPredicate::UNE, v,
                             scalarConstant(b, loc, v.getType(), 0)))
                       : Value(arith::CmpIOp::create(
                             b, loc, arith::CmpIPredicate::ne, v,
                             scalarConstant(b, loc, v.getType(), 0)));
        if (fromF && toF)
          return fromF.getWidth() < toF.getWidth()
                     ? Value(arith::ExtFOp::create(b, loc, toF, v))
                     : Value(arith::TruncFOp::create(b, loc, toF, v));
        if (fromF && toInt)
          return toInt.isUnsigned()
                     ? Value(arith::FPToUIOp::create(b, loc, out, v))
                     : Value(arith::FPToSIOp::create(b, loc, out, v));
        if (fromInt && toF)
          return (fromInt.isUnsigned() || fromInt.getWidth() == 1)
                     ? Value(arith::UIToFPOp::create(b, loc, toF, v))
                     : Value(arith::SIToFPOp::create(b, loc, toF, v));
        if (fromInt && toInt) {
          if (fromInt.getWidth() < toInt.getWidth())
            return (fromInt.isUnsigned() || fromInt.getWidth() == 1)
                       ? Value(arith::ExtUIOp::create(b, loc, out, v))
                       : Value(arith::ExtSIOp::create(b, loc, out, v));
          if (fromInt.getWidth() > toInt.getWidth())
            return arith::TruncIOp::create(b, loc, out, v);
          return v;
        }
        return Value();
      })
      .Default([](Operation *) { return Value(); });
}

/// Elementwise ops on unsigned integers need signless values for arith.
struct ElementwiseToGeneric : RewritePattern {
  ElementwiseToGeneric(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!op->hasTrait<OpTrait::BathyElementwise>() || op->getNumResults() != 1)
      return rewriter.notifyMatchFailure(
          op, "not an elementwise op with one result");
    auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!result)
      return rewriter.notifyMatchFailure(op, "unranked result");
    for (Value v : op->getOperands())
      if (!isa<RankedTensorType>(v.getType()))
        return rewriter.notifyMatchFailure(op, "unranked operand");
    // arith works on signless integers: the body casts unsigned block
    // arguments to signless (a no-op once types reach LLVM) and uses
    // unsigned operations.
    auto elementOf = [](Type t) {
      return cast<ShapedType>(t).getElementType();
    };
    Location loc = op->getLoc();
    bool isUnsigned = llvm::any_of(op->getOperandTypes(), [&](Type t) {
      return elementOf(t).isUnsignedInteger();
    });
    Type modelFrom =
        elementOf(op->getOperand(op->getNumOperands() - 1).getType());
    Type modelTo = result.getElementType();
    auto signless = [&](Type t) -> Type {
      auto it = dyn_cast<IntegerType>(t);
      return it && !it.isSignless()
                 ? IntegerType::get(t.getContext(), it.getWidth())
                 : t;
    };
    int64_t rank = result.getRank();
    MLIRContext *ctx = op->getContext();
    SmallVector<Value> operands = broadcastOperands(
        rewriter, loc, op->getOperands(), result, knownEqualDims(op));
    Value init = emptyTensor(rewriter, loc, result, [&](int64_t d) {
      return broadcastDimSize(rewriter, loc, operands, result, d);
    });
    SmallVector<AffineMap> maps;
    for (Value v : operands)
      maps.push_back(
          broadcastMap(ctx, rank, cast<RankedTensorType>(v.getType()), result));
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    bool failedBody = false;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{result}, operands, ValueRange{init}, maps,
        iterators, "", "", [&](OpBuilder &b, Location l, ValueRange args) {
          auto retype = [&](Value v, Type to) -> Value {
            if (v.getType() == to)
              return v;
            return UnrealizedConversionCastOp::create(b, l, to, v).getResult(0);
          };
          SmallVector<Value> scalars;
          for (Value arg : args.drop_back())
            scalars.push_back(retype(arg, signless(arg.getType())));
          Type out = result.getElementType();
          Value v = scalarFor(op, b, l, scalars, signless(out), isUnsigned,
                              modelFrom, modelTo);
          if (!v) {
            failedBody = true;
            v = args.back();
          } else {
            v = retype(v, out);
          }
          linalg::YieldOp::create(b, l, v);
        });
    if (failedBody) {
      rewriter.eraseOp(generic);
      return rewriter.notifyMatchFailure(op, "no scalar lowering");
    }
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void populateElementwiseToLinalg(RewritePatternSet &patterns) {
  patterns.add<ElementwiseToGeneric>(patterns.getContext());
}

} // namespace bathy::codegen
