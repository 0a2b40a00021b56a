//===- LinalgConv.cpp - ONNX MatMul, Gemm, Conv and pooling
//----------------===//
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

/// Strides, dilations and explicit pads of a windowed op, with auto_pad
/// resolved (SAME_* needs static spatial dims).
struct WindowAttrs {
  SmallVector<int64_t> strides, dilations, pads;
};

FailureOr<WindowAttrs> readWindow(NodeContext &ctx, Value input,
                                  ArrayRef<int64_t> kernel) {
  FailureOr<int64_t> rank = ctx.requireRank(input, "the input");
  if (failed(rank))
    return failure();
  if (*rank < 3)
    return ctx.emitError() << "input must have rank >= 3, got " << *rank;
  int64_t spatial = *rank - 2;
  if (static_cast<int64_t>(kernel.size()) != spatial)
    return ctx.emitError() << "kernel has " << kernel.size()
                           << " spatial dims but the input has " << spatial;
  WindowAttrs w;
  FailureOr<SmallVector<int64_t>> strides =
      ctx.attrInts("strides", SmallVector<int64_t>(spatial, 1));
  FailureOr<SmallVector<int64_t>> dilations =
      ctx.attrInts("dilations", SmallVector<int64_t>(spatial, 1));
  FailureOr<SmallVector<int64_t>> pads =
      ctx.attrInts("pads", SmallVector<int64_t>(2 * spatial, 0));
  FailureOr<std::string> autoPad = ctx.attrString("auto_pad", "NOTSET");
  if (failed(strides) || failed(dilations) || failed(pads) || failed(autoPad))
    return failure();
  w.strides = *strides;
  w.dilations = *dilations;
  w.pads = *pads;
  if (*autoPad == "NOTSET")
    return w;
  if (*autoPad == "VALID") {
    w.pads.assign(2 * spatial, 0);
    return w;
  }
  if (*autoPad != "SAME_UPPER" && *autoPad != "SAME_LOWER")
    return ctx.emitError() << "unknown auto_pad '" << *autoPad << "'";
  if (static_cast<int64_t>(w.strides.size()) != spatial ||
      static_cast<int64_t>(w.dilations.size()) != spatial)
    return ctx.emitError() << "strides and dilations need " << spatial
                           << " entries";
  auto type = cast<RankedTensorType>(input.getType());
  w.pads.assign(2 * spatial, 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = type.getDimSize(i + 2);
    if (ShapedType::isDynamic(in))
      return ctx.emitError()
             << "auto_pad=" << *autoPad << " needs static spatial dims";
    if (w.strides[i] < 1)
      return ctx.emitError() << "strides must be >= 1";
    int64_t out = (in + w.strides[i] - 1) / w.strides[i];
    int64_t total = std::max<int64_t>(
        (out - 1) * w.strides[i] + (kernel[i] - 1) * w.dilations[i] + 1 - in,
        0);
    int64_t small = total / 2, large = total - small;
    w.pads[i] = *autoPad == "SAME_UPPER" ? small : large;
    w.pads[i + spatial] = *autoPad == "SAME_UPPER" ? large : small;
  }
  return w;
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
  FailureOr<WindowAttrs> window = readWindow(ctx, *x, kernel);
  if (failed(window))
    return failure();
  OpBuilder &b = ctx.builder();
  FailureOr<Value> y = ctx.build<ConvOp>(
      *x, *w, ctx.input(2), b.getDenseI64ArrayAttr(window->strides),
      b.getDenseI64ArrayAttr(window->pads),
      b.getDenseI64ArrayAttr(window->dilations), b.getI64IntegerAttr(*group));
  return failed(y) ? failure() : ctx.setResults(*y);
}

template <typename OpTy> LogicalResult pool(NodeContext &ctx) {
  FailureOr<Value> x = ctx.requiredInput(0, "X");
  FailureOr<SmallVector<int64_t>> kernel =
      ctx.attrInts("kernel_shape", std::nullopt);
  FailureOr<int64_t> ceilMode = ctx.attrInt("ceil_mode", 0);
  if (failed(x) || failed(kernel) || failed(ceilMode))
    return failure();
  FailureOr<WindowAttrs> window = readWindow(ctx, *x, *kernel);
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

void populateLinalgConvHandlers(OpRegistry &r) {
  r.add("MatMul", 1, matmul);
  r.add("Gemm", 7, gemm);
  r.add("Conv", 1, conv);
  r.add("MaxPool", 1, pool<MaxPoolOp>);
  r.add("AveragePool", 7, pool<AvgPoolOp>);
  r.add("GlobalAveragePool", 1, globalPool<GlobalAvgPoolOp>);
  r.add("GlobalMaxPool", 1, globalPool<GlobalMaxPoolOp>);
}

} // namespace bathy::onnx_import
