//===- InitAll.cpp - Registration of bathy's dialects and passes ----------===//
#include "bathy/InitAll.h"

#include "bathy/Codegen/Pipelines.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Transforms/Passes.h"

void bathy::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<BathyDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::tensor::TensorDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect>();
  registerCodegenDialects(registry);
}

void bathy::registerAllPasses() {
  registerBathyPasses();
  registerPipelines();
  // Every upstream pass, so bathy-opt can run any pipeline over bathy IR.
  mlir::registerAllPasses();
}
