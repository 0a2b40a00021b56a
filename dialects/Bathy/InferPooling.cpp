//===- InferPooling.cpp - Type inference: pooling -------------------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"

using namespace mlir;
using namespace bathy;
using infer::inferError;
using infer::getWindow;
using infer::Window;

/// Shared by max_pool and avg_pool.
template <typename Adaptor>
static LogicalResult inferPool(std::optional<Location> loc, StringRef name,
                               Adaptor adaptor,
                               SmallVectorImpl<Type> &inferred) {
  auto input = cast<TensorType>(adaptor.getInput().getType());
  ArrayRef<int64_t> kernel = adaptor.getKernelShape();
  if (!input.hasRank()) {
    inferred.push_back(input);
    return success();
  }
  if (input.getRank() < 3)
    return inferError(loc, name,
                      "input must have rank >= 3 (N, C, spatial...), got ",
                      input.getRank());
  int64_t spatial = input.getRank() - 2;
  if (static_cast<int64_t>(kernel.size()) != spatial)
    return inferError(loc, name, "kernel_shape has ", kernel.size(),
                      " entries but the input has ", spatial, " spatial dims");
  for (int64_t k : kernel)
    if (k < 1)
      return inferError(loc, name, "kernel_shape must be >= 1, got ", k);
  FailureOr<Window> w = getWindow(loc, name, spatial, adaptor.getStrides(),
                                  adaptor.getPads(), adaptor.getDilations());
  if (failed(w))
    return failure();
  SmallVector<int64_t> shape(input.getShape().take_front(2));
  for (int64_t i = 0; i < spatial; ++i) {
    FailureOr<int64_t> size =
        infer::windowedSize(loc, name, i, input.getDimSize(i + 2), kernel[i], *w,
                     adaptor.getCeilMode());
    if (failed(size))
      return failure();
    shape.push_back(*size);
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, getOperationName(), adaptor, inferred);
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, getOperationName(), adaptor, inferred);
}

static LogicalResult inferGlobalPool(std::optional<Location> loc,
                                     StringRef name, Type inputType,
                                     SmallVectorImpl<Type> &inferred) {
  auto input = cast<TensorType>(inputType);
  if (!input.hasRank()) {
    inferred.push_back(input);
    return success();
  }
  if (input.getRank() < 3)
    return inferError(loc, name,
                      "input must have rank >= 3 (N, C, spatial...), got ",
                      input.getRank());
  SmallVector<int64_t> shape(input.getShape());
  std::fill(shape.begin() + 2, shape.end(), 1);
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult
GlobalAvgPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  return inferGlobalPool(loc, getOperationName(), adaptor.getInput().getType(),
                         inferred);
}

LogicalResult
GlobalMaxPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  return inferGlobalPool(loc, getOperationName(), adaptor.getInput().getType(),
                         inferred);
}
