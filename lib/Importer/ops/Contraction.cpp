//===- Contraction.cpp - ONNX MatMul, Gemm and Conv -----------------------===//
#include "OpRegistry.h"

using namespace mlir;

namespace bathy::onnx_import {
namespace {

LogicalResult matmul(NodeContext &ctx) {
  FailureOr<Value> a = ctx.requiredInput(0, "A");
  FailureOr<Value> b = ctx.requiredInput(1, "B");
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> y = ctx.build<MatmulOp>(*a, *b);
  return failed(y) ? failure() : ctx.setResults(*y);
}

/// Gemm: alpha * op(A) @ op(B) + beta * C, decomposed into core ops.
LogicalResult gemm(NodeContext &ctx) {
  FailureOr<Value> a = ctx.requiredInput(0, "A");
  FailureOr<Value> b = ctx.requiredInput(1, "B");
  FailureOr<int64_t> transA = ctx.attrInt("transA", 0);
  FailureOr<int64_t> transB = ctx.attrInt("transB", 0);
  FailureOr<float> alpha = ctx.attrFloat("alpha", 1.0f);
  FailureOr<float> beta = ctx.attrFloat("beta", 1.0f);
  if (failed(a) || failed(b) || failed(transA) || failed(transB) ||
      failed(alpha) || failed(beta))
    return failure();
  for (auto [v, what] : {std::pair{*a, "A"}, std::pair{*b, "B"}}) {
    std::optional<int64_t> rank = NodeContext::rankOf(v);
    if (rank && *rank != 2)
      return ctx.emitError() << what << " must be 2-D, got rank " << *rank;
  }
  OpBuilder &builder = ctx.builder();
  auto transpose = [&](Value v) {
    return ctx.build<TransposeOp>(v, builder.getDenseI64ArrayAttr({1, 0}));
  };
  Value lhs = *a, rhs = *b;
  if (*transA) {
    FailureOr<Value> t = transpose(lhs);
    if (failed(t))
      return failure();
    lhs = *t;
  }
  if (*transB) {
    FailureOr<Value> t = transpose(rhs);
    if (failed(t))
      return failure();
    rhs = *t;
  }
  FailureOr<Value> y = ctx.build<MatmulOp>(lhs, rhs);
  if (failed(y))
    return failure();
  Type element = NodeContext::elementOf(*y);
  if (*alpha != 1.0f) {
    y = ctx.build<MulOp>(*y, ctx.constantScalarOf(element, *alpha));
    if (failed(y))
      return failure();
  }
  if (Value c = ctx.input(2)) {
    if (*beta != 1.0f) {
      FailureOr<Value> scaled =
          ctx.build<MulOp>(c, ctx.constantScalarOf(element, *beta));
      if (failed(scaled))
        return failure();
      c = *scaled;
    }
    y = ctx.build<AddOp>(*y, c);
    if (failed(y))
      return failure();
  }
  return ctx.setResults(*y);
}


LogicalResult conv(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  FailureOr<Value> w = ctx.requiredInput(1, "W");
  FailureOr<int64_t> group = ctx.attrInt("group", 1);
  if (failed(x) || failed(w) || failed(group))
    return failure();
  auto weightType = dyn_cast<RankedTensorType>(w->getType());
  if (!weightType || weightType.getRank() < 3)
    return ctx.emitError() << "the weight must be ranked with rank >= 3";
  SmallVector<int64_t> kernel(weightType.getShape().drop_front(2));
  FailureOr<SmallVector<int64_t>> kernelAttr =
      ctx.attrInts("kernel_shape", kernel);
  if (failed(kernelAttr))
    return failure();
  if (*kernelAttr != kernel && llvm::none_of(kernel, ShapedType::isDynamic))
    return ctx.emitError() << "kernel_shape does not match the weight's "
                              "spatial dims";
  FailureOr<infer::Window> window = ctx.readWindow(*x, kernel);
  if (failed(window))
    return failure();
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y = ctx.build<ConvOp>(
      *x, *w, ctx.input(2), b.getDenseI64ArrayAttr(window->strides),
      b.getDenseI64ArrayAttr(window->pads),
      b.getDenseI64ArrayAttr(window->dilations), b.getI64IntegerAttr(*group));
  return failed(y) ? failure() : ctx.setResults(*y);
}

} // namespace

void populateContractionHandlers(OpRegistry &r) {
  r.add("MatMul", 1, matmul);
  r.add("Gemm", 7, gemm);
  r.add("Conv", 1, conv);
}

} // namespace bathy::onnx_import
