//===- CpuSafeIntegerDivision.cpp - Integer division that cannot trap -----===//
//
// For each arith integer division or remainder whose divisor may be 0 (or
// -1, for signed ops, where INT_MIN / -1 overflows):
//
//   d'     = (d == 0 || d == -1) ? 1 : d           (unsigned: d == 0 only)
//   x / d  = d == 0 ? 0 : d == -1 ? 0 - x : x / d'
//   x % d  = (d == 0 || d == -1) ? 0 : x % d'
//
// The same rule for ceildivsi/floordivsi (x ceildiv -1 = -x). Index and
// integer types, scalars and vectors.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/IR/Matchers.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-safe-integer-division"

namespace bathy {
#define GEN_PASS_DEF_CPUSAFEINTEGERDIVISIONPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

Value constantLike(OpBuilder &b, Location loc, Type type, int64_t value) {
  Type element = getElementTypeOrSelf(type);
  TypedAttr scalar = element.isIndex()
                         ? TypedAttr(b.getIndexAttr(value))
                         : TypedAttr(b.getIntegerAttr(element, value));
  if (auto shaped = dyn_cast<ShapedType>(type))
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(shaped, ArrayRef<Attribute>{scalar}));
  return arith::ConstantOp::create(b, loc, scalar);
}

/// Whether `divisor` is a constant that never traps (not 0, and not -1 for
/// signed division).
bool isSafeConstant(Value divisor, bool isSigned) {
  APInt value;
  if (!matchPattern(divisor, m_ConstantInt(&value)))
    return false;
  return !value.isZero() && !(isSigned && value.isAllOnes());
}

enum class Kind { kDivide, kRemainder };

struct CpuSafeIntegerDivisionPass
    : impl::CpuSafeIntegerDivisionPassBase<CpuSafeIntegerDivisionPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp,
              arith::CeilDivSIOp, arith::CeilDivUIOp, arith::FloorDivSIOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      bool isSigned =
          !isa<arith::DivUIOp, arith::RemUIOp, arith::CeilDivUIOp>(op);
      Kind kind = isa<arith::RemSIOp, arith::RemUIOp>(op) ? Kind::kRemainder
                                                          : Kind::kDivide;
      Value x = op->getOperand(0), d = op->getOperand(1);
      if (isSafeConstant(d, isSigned))
        continue;
      OpBuilder b(op);
      Location loc = op->getLoc();
      Type type = d.getType();
      Value zero = constantLike(b, loc, type, 0);
      Value one = constantLike(b, loc, type, 1);
      Value isZero =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, d, zero);
      Value isMinusOne;
      Value unsafe = isZero;
      if (isSigned) {
        isMinusOne = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, d,
                                           constantLike(b, loc, type, -1));
        unsafe = arith::OrIOp::create(b, loc, isZero, isMinusOne);
      }
      Value safe = arith::SelectOp::create(b, loc, unsafe, one, d);
      // The original op, now on a divisor that cannot trap.
      op->setOperand(1, safe);
      b.setInsertionPointAfter(op);
      Value r = op->getResult(0);
      // The uses to redirect, taken before the selects below add their own.
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : r.getUses())
        uses.push_back(&use);
      Value fixed;
      if (kind == Kind::kRemainder) {
        fixed = arith::SelectOp::create(b, loc, unsafe, zero, r);
      } else {
        fixed = r;
        if (isSigned)
          fixed = arith::SelectOp::create(
              b, loc, isMinusOne, arith::SubIOp::create(b, loc, zero, x),
              fixed);
        fixed = arith::SelectOp::create(b, loc, isZero, zero, fixed);
      }
      for (OpOperand *use : uses)
        use->set(fixed);
      ++numGuarded;
      LLVM_DEBUG(llvm::dbgs() << "division guarded at " << loc << "\n");
    }
  }
};

} // namespace
} // namespace bathy
