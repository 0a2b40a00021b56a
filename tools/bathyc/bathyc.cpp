//===- bathyc.cpp - Compile an ONNX model into a .bathy artifact ----------===//
//
// A thin main: the tool is lib/Tools/Compile.cpp.
//
//===----------------------------------------------------------------------===//
#include "bathy/Tools/Compile.h"

#include "llvm/Support/InitLLVM.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  return bathy::compileFromFlags(argc, argv);
}
