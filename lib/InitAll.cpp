//===- InitAll.cpp - Registration of bathy's dialects and passes ----------===//
#include "bathy/InitAll.h"

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/Passes.h"

void bathy::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<BathyDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::tensor::TensorDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect>();
}

void bathy::registerAllPasses() {
  registerBathyPasses();
  mlir::registerTransformsPasses();
}
