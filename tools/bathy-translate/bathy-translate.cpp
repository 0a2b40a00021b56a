//===- bathy-translate.cpp - bathy IR to other languages ------------------===//
//
//   bathy-translate --bathy-to-cuda model.mlir
//
// compiles the model's kernels for the CUDA target and prints the CUDA C++
// source (what NVRTC and --device=cuda-emu compile). The lit tests check the
// source per kernel kind with it.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CUDA/Cuda.h"
#include "bathy/InitAll.h"
#include "bathy/Support/ToolSupport.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"

int main(int argc, char **argv) {
  bathy::hideLibraryOptions();
  bathy::installVersionPrinter("bathy-translate");
  mlir::TranslateFromMLIRRegistration toCuda(
      "bathy-to-cuda",
      "Compile the kernels of a bathy model for the CUDA target and print "
      "their CUDA C++",
      [](mlir::Operation *op, llvm::raw_ostream &os) -> mlir::LogicalResult {
        auto module = llvm::dyn_cast<mlir::ModuleOp>(op);
        if (!module)
          return op->emitError("expected a module");
        mlir::FailureOr<bathy::CudaCompiledModel> compiled =
            bathy::compileForCuda(module, {});
        if (mlir::failed(compiled))
          return mlir::failure();
        os << compiled->source;
        return mlir::success();
      },
      [](mlir::DialectRegistry &registry) {
        bathy::registerAllDialects(registry);
      });
  return mlir::failed(mlir::mlirTranslateMain(
      argc, argv, "bathy translation driver: bathy IR to other languages\n"));
}
