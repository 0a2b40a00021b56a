//===- bathy-opt.cpp - mlir-opt with bathy's dialects and passes ----------===//
#include "bathy/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  bathy::registerAllDialects(registry);
  bathy::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "bathy optimizer driver: runs bathy and MLIR passes\n",
      registry));
}
