//===- Common.cpp - Shared helpers for lowering bathy to linalg -----------===//
#include "Common.h"

#include "bathy/Dialect/Bathy/ShapeRules.h"

#include "bathy/Dialect/Bathy/Provenance.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace bathy::codegen {

void emitCheck(OpBuilder &b, Location loc, Value ok, const Twine &what,
               ValueRange values) {
  if (matchPattern(ok, m_One()))
    return;
  std::string where = describeLocation(loc);
  std::string message = where.empty() ? what.str() : where + ": " + what.str();
  CheckOp::create(b, loc, ok, b.getStringAttr(message), values);
}

Value sameSize(OpBuilder &b, Location loc, Value a, Value c) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a, c);
}

Value dimValue(OpBuilder &b, Location loc, Value v, int64_t d) {
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.isDynamicDim(d))
    return arith::ConstantIndexOp::create(b, loc, type.getDimSize(d));
  return tensor::DimOp::create(b, loc, v, d);
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  function_ref<Value(int64_t)> sizeOf) {
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(sizeOf(d));
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                 dynamic);
}

std::optional<int64_t> SizeRef::getStatic() const {
  if (!source)
    return value;
  if (dim < 0)
    return getConstantIntValue(source);
  auto type = cast<RankedTensorType>(source.getType());
  if (type.isDynamicDim(dim))
    return std::nullopt;
  return type.getDimSize(dim);
}

Value SizeRef::materialize(OpBuilder &b, Location loc) const {
  if (source && dim < 0)
    return source;
  if (std::optional<int64_t> s = getStatic())
    return arith::ConstantIndexOp::create(b, loc, *s);
  return tensor::DimOp::create(b, loc, source, dim);
}

SmallVector<SizeRef> sizesOf(Value v) {
  SmallVector<SizeRef> out;
  for (int64_t d = 0; d < cast<RankedTensorType>(v.getType()).getRank(); ++d)
    out.push_back(SizeRef::dimOf(v, d));
  return out;
}

SizeRef pickBroadcastSize(const SizeRef &acc, const SizeRef &size) {
  return acc.isStatic(1) ? size : acc;
}

SizeRef joinBroadcastSizes(OpBuilder &b, Location loc, const SizeRef &acc,
                           const SizeRef &size) {
  if (size.isStatic(1))
    return acc;
  if (acc.isStatic(1))
    return size;
  // acc == 1 ? size : (size == 0 ? 0 : acc)
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value a = acc.materialize(b, loc), s = size.materialize(b, loc);
  Value accIsOne =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a, one);
  Value sizeIsZero =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, s, zero);
  Value keep = arith::SelectOp::create(b, loc, sizeIsZero, zero, a);
  return SizeRef::index(arith::SelectOp::create(b, loc, accIsOne, s, keep));
}

Value RuntimeArith::constant(int64_t c) const {
  return arith::ConstantIntOp::create(b, loc, c, 64);
}
Value RuntimeArith::add(Value x, Value y) const {
  return arith::AddIOp::create(b, loc, x, y);
}
Value RuntimeArith::sub(Value x, Value y) const {
  return arith::SubIOp::create(b, loc, x, y);
}
Value RuntimeArith::min(Value x, Value y) const {
  return arith::MinSIOp::create(b, loc, x, y);
}
Value RuntimeArith::max(Value x, Value y) const {
  return arith::MaxSIOp::create(b, loc, x, y);
}
Value RuntimeArith::lt(Value x, Value y) const {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
}
Value RuntimeArith::gt(Value x, Value y) const {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, x, y);
}
Value RuntimeArith::select(Value c, Value x, Value y) const {
  return arith::SelectOp::create(b, loc, c, x, y);
}
Value RuntimeArith::mul(Value x, Value y) const {
  return arith::MulIOp::create(b, loc, x, y);
}
Value RuntimeArith::divs(Value x, Value y) const {
  return arith::DivSIOp::create(b, loc, x, y);
}
Value RuntimeArith::ne(Value x, Value y) const {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x, y);
}
Value RuntimeArith::divu(Value x, Value y) const {
  return arith::DivUIOp::create(b, loc, x, y);
}
Value RuntimeArith::remu(Value x, Value y) const {
  return arith::RemUIOp::create(b, loc, x, y);
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<SizeRef> sizes) {
  return emptyTensor(b, loc, type,
                     [&](int64_t d) { return sizes[d].materialize(b, loc); });
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  auto it = cast<IntegerType>(type);
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(it, static_cast<int64_t>(value)));
}

Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                   function_ref<Value(int64_t)> sizeOf, Value value) {
  Value empty = emptyTensor(b, loc, type, sizeOf);
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

AffineMap broadcastMap(MLIRContext *ctx, int64_t resultRank,
                       RankedTensorType operand, RankedTensorType result) {
  SmallVector<AffineExpr> exprs;
  int64_t offset = resultRank - operand.getRank();
  for (int64_t j = 0; j < operand.getRank(); ++j) {
    int64_t rd = j + offset;
    if (operand.getDimSize(j) == 1 && result.getDimSize(rd) != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(rd, ctx));
  }
  return AffineMap::get(resultRank, 0, exprs, ctx);
}

namespace {
SmallVector<SmallVector<SizeRef>> sizesOfAll(ValueRange operands) {
  SmallVector<SmallVector<SizeRef>> out;
  for (Value v : operands)
    out.push_back(sizesOf(v));
  return out;
}
SmallVector<ArrayRef<SizeRef>> views(ArrayRef<SmallVector<SizeRef>> sizes) {
  return SmallVector<ArrayRef<SizeRef>>(sizes.begin(), sizes.end());
}
} // namespace

Value broadcastDimSize(OpBuilder &b, Location loc, ValueRange operands,
                       RankedTensorType result, int64_t d) {
  SmallVector<SmallVector<SizeRef>> sizes = sizesOfAll(operands);
  return shape::broadcastDim<SizeRef>(views(sizes), result.getRank(), d,
                                      SizeRef::constant(1), pickBroadcastSize)
      ->materialize(b, loc);
}

Value combineBroadcastSizes(OpBuilder &b, Location loc, ArrayRef<Value> sizes) {
  SizeRef acc = SizeRef::constant(1);
  for (Value size : sizes)
    acc = joinBroadcastSizes(b, loc, acc, SizeRef::index(size));
  return acc.materialize(b, loc);
}

Value broadcastSizeAtRuntime(OpBuilder &b, Location loc, ValueRange operands,
                             RankedTensorType result, int64_t d) {
  if (!result.isDynamicDim(d))
    return arith::ConstantIndexOp::create(b, loc, result.getDimSize(d));
  SmallVector<SmallVector<SizeRef>> sizes = sizesOfAll(operands);
  return shape::broadcastDim<SizeRef>(
             views(sizes), result.getRank(), d, SizeRef::constant(1),
             [&](const SizeRef &acc, const SizeRef &size) {
               return joinBroadcastSizes(b, loc, acc, size);
             })
      ->materialize(b, loc);
}

ArrayRef<int64_t> knownEqualDims(Operation *op) {
  if (auto attr = op->getAttrOfType<DenseI64ArrayAttr>(kEqualDimsAttr))
    return attr.asArrayRef();
  return {};
}

Value broadcastOperandAtRuntime(OpBuilder &b, Location loc, Value operand,
                                ArrayRef<int64_t> dims, ArrayRef<Value> sizes,
                                StringRef operandName) {
  auto type = cast<RankedTensorType>(operand.getType());
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> have;
  Value same;
  for (auto [j, size] : llvm::zip(dims, sizes)) {
    have.push_back(dimValue(b, loc, operand, j));
    Value eq = sameSize(b, loc, have.back(), size);
    emitCheck(
        b, loc,
        arith::OrIOp::create(b, loc, eq, sameSize(b, loc, have.back(), one)),
        (operandName.empty() ? Twine("") : operandName + " ") + "dim " +
            Twine(j) + " has size {0}, which does not broadcast to {1}",
        ValueRange{have.back(), size});
    same = same ? arith::AndIOp::create(b, loc, same, eq).getResult() : eq;
  }
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, same,
                                /*addThenBlock=*/true, /*addElseBlock=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, operand);
    b.setInsertionPointToStart(ifOp.elseBlock());
    Value init = emptyTensor(b, loc, type, [&](int64_t d) -> Value {
      const auto *it = llvm::find(dims, d);
      if (it != dims.end())
        return sizes[it - dims.begin()];
      return dimValue(b, loc, operand, d);
    });
    int64_t rank = type.getRank();
    MLIRContext *ctx = b.getContext();
    auto copy = linalg::GenericOp::create(
        b, loc, TypeRange{type}, ValueRange{}, ValueRange{init},
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx)},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        "", "", [&](OpBuilder &nb, Location l, ValueRange) {
          SmallVector<Value> indices;
          for (int64_t d = 0; d < rank; ++d) {
            Value i = linalg::IndexOp::create(nb, l, d);
            const auto *it = llvm::find(dims, d);
            if (it != dims.end()) {
              // size 1 reads 0; otherwise clamp into [0, size - 1].
              Value n = have[it - dims.begin()];
              Value last = arith::SubIOp::create(nb, l, n, one);
              Value isOne = arith::CmpIOp::create(
                  nb, l, arith::CmpIPredicate::ule, n, one);
              Value clamped = arith::MinUIOp::create(nb, l, i, last);
              Value zero = arith::ConstantIndexOp::create(nb, l, 0);
              i = arith::SelectOp::create(nb, l, isOne, zero, clamped);
            }
            indices.push_back(i);
          }
          Value v = tensor::ExtractOp::create(nb, l, operand, indices);
          linalg::YieldOp::create(nb, l, v);
        });
    scf::YieldOp::create(b, loc, copy.getResult(0));
  }
  return ifOp.getResult(0);
}

SmallVector<Value> broadcastOperands(OpBuilder &b, Location loc,
                                     ValueRange operands,
                                     RankedTensorType result,
                                     ArrayRef<int64_t> equalDims) {
  int64_t rank = result.getRank();
  // Result dims where some operand's size may differ from another's.
  SmallVector<Value> sizes(rank);
  auto sizeOf = [&](int64_t d) {
    if (!sizes[d])
      sizes[d] = broadcastSizeAtRuntime(b, loc, operands, result, d);
    return sizes[d];
  };
  // Static sizes another operand's dynamic size meets: the broadcast size
  // must be that size (dynamic operands are checked below, when read).
  for (int64_t d = 0; d < rank; ++d) {
    if (llvm::is_contained(equalDims, d))
      continue;
    bool anyDynamic = false;
    for (Value v : operands) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t j = d - (rank - type.getRank());
      anyDynamic |= j >= 0 && type.isDynamicDim(j);
    }
    if (!anyDynamic)
      continue;
    for (auto [i, v] : llvm::enumerate(operands)) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t j = d - (rank - type.getRank());
      if (j < 0 || type.isDynamicDim(j) || type.getDimSize(j) == 1)
        continue;
      Value have = arith::ConstantIndexOp::create(b, loc, type.getDimSize(j));
      emitCheck(b, loc, sameSize(b, loc, have, sizeOf(d)),
                "operand " + Twine(i) + " dim " + Twine(j) +
                    " has size {0}, which does not broadcast to {1}",
                ValueRange{have, sizeOf(d)});
    }
  }
  SmallVector<Value> out;
  for (auto [i, v] : llvm::enumerate(operands)) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - type.getRank();
    SmallVector<int64_t> dims;
    SmallVector<Value> want;
    for (int64_t j = 0; j < type.getRank(); ++j) {
      int64_t d = j + offset;
      if (!type.isDynamicDim(j) || llvm::is_contained(equalDims, d))
        continue;
      bool contested = llvm::any_of(operands, [&](Value w) {
        if (w == v)
          return false;
        auto wt = cast<RankedTensorType>(w.getType());
        int64_t k = d - (rank - wt.getRank());
        return k >= 0 && wt.getDimSize(k) != 1;
      });
      if (!contested)
        continue;
      dims.push_back(j);
      want.push_back(sizeOf(d));
    }
    out.push_back(dims.empty() ? v
                               : broadcastOperandAtRuntime(
                                     b, loc, v, dims, want,
                                     "operand " + std::to_string(i)));
  }
  return out;
}

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

} // namespace bathy::codegen
