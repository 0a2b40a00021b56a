//===- Common.cpp - Shared helpers for lowering bathy to linalg -----------===//
#include "Common.h"

using namespace mlir;

namespace bathy::codegen {

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

Value broadcastDimSize(OpBuilder &b, Location loc, ValueRange operands,
                       RankedTensorType result, int64_t d) {
  for (Value v : operands) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t j = d - (result.getRank() - type.getRank());
    if (j < 0 || type.getDimSize(j) == 1)
      continue;
    return dimValue(b, loc, v, j);
  }
  return arith::ConstantIndexOp::create(b, loc, 1);
}

} // namespace bathy::codegen
