//===- CpuApproximateMath.cpp - Vectorizable exp/log/tanh/erf -------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-approximate-math"

namespace bathy {
#define GEN_PASS_DEF_CPUAPPROXIMATEMATHPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {
struct CpuApproximateMathPass
    : impl::CpuApproximateMathPassBase<CpuApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // Only the functions used by softmax, normalizations and activations;
    // each pattern applies to f32 (and vectors of it) only.
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      // Names arrive as op names ("math.exp").
      name.consume_front("math.");
      return llvm::is_contained(
          {"exp", "expm1", "log", "log1p", "log2", "tanh", "erf"}, name);
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace bathy
