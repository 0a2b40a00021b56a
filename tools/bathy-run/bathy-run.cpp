//===- bathy-run.cpp - Import, compile in process and run an ONNX model ---===//
//
// A thin main: the tool is lib/Tools/RunModule.cpp.
//
//===----------------------------------------------------------------------===//
#include "bathy/Tools/RunModule.h"

#include "llvm/Support/InitLLVM.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  return bathy::runModuleFromFlags(argc, argv);
}
