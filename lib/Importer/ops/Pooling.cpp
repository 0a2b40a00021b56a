//===- Pooling.cpp - ONNX MaxPool, AveragePool and global pooling ---------===//
#include "OpRegistry.h"

using namespace mlir;

namespace bathy::onnx_import {
namespace {

template <typename OpTy> LogicalResult pool(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  FailureOr<SmallVector<int64_t>> kernel =
      ctx.attrInts("kernel_shape", std::nullopt);
  FailureOr<int64_t> ceilMode = ctx.attrInt("ceil_mode", 0);
  if (failed(x) || failed(kernel) || failed(ceilMode))
    return failure();
  FailureOr<infer::Window> window = ctx.readWindow(*x, *kernel);
  if (failed(window))
    return failure();
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y;
  if constexpr (std::is_same_v<OpTy, MaxPoolOp>) {
    FailureOr<int64_t> order = ctx.attrInt("storage_order", 0);
    if (failed(order))
      return failure();
    y = ctx.build<MaxPoolOp>(*x, b.getDenseI64ArrayAttr(*kernel),
                             b.getDenseI64ArrayAttr(window->strides),
                             b.getDenseI64ArrayAttr(window->pads),
                             b.getDenseI64ArrayAttr(window->dilations),
                             b.getBoolAttr(*ceilMode));
  } else {
    FailureOr<int64_t> includePad = ctx.attrInt("count_include_pad", 0);
    if (failed(includePad))
      return failure();
    y = ctx.build<AvgPoolOp>(*x, b.getDenseI64ArrayAttr(*kernel),
                             b.getDenseI64ArrayAttr(window->strides),
                             b.getDenseI64ArrayAttr(window->pads),
                             b.getDenseI64ArrayAttr(window->dilations),
                             b.getBoolAttr(*ceilMode),
                             b.getBoolAttr(*includePad));
  }
  return failed(y) ? failure() : ctx.setResults(*y);
}

template <typename OpTy> LogicalResult globalPool(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  if (failed(x))
    return failure();
  FailureOr<Value> y = ctx.build<OpTy>(*x);
  return failed(y) ? failure() : ctx.setResults(*y);
}

} // namespace

void populatePoolingHandlers(OpRegistry &r) {
  r.add("MaxPool", 1, pool<MaxPoolOp>);
  r.add("AveragePool", 7, pool<AvgPoolOp>);
  r.add("GlobalAveragePool", 1, globalPool<GlobalAvgPoolOp>);
  r.add("GlobalMaxPool", 1, globalPool<GlobalMaxPoolOp>);
}

} // namespace bathy::onnx_import
