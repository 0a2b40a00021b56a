//===- bathy-opt.cpp - mlir-opt with bathy's dialects and passes ----------===//
#include "bathy/InitAll.h"
#include "bathy/Support/ToolSupport.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  // Before MLIR registers its own options: what is registered now are
  // libLLVM's (every backend's), hidden from --help.
  bathy::hideLibraryOptions();
  bathy::installVersionPrinter("bathy-opt");
  mlir::DialectRegistry registry;
  bathy::registerAllDialects(registry);
  bathy::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "bathy optimizer driver: runs bathy and MLIR passes\n",
      registry));
}
