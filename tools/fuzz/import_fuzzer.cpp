//===- import_fuzzer.cpp - libFuzzer target for the ONNX importer ---------===//
//
// Feeds arbitrary bytes to the importer, as a binary model and (when the
// first byte is odd) as ONNX text. Any outcome but a crash, a hang or a
// sanitizer report is fine: errors are expected.
//
//===----------------------------------------------------------------------===//
#include <cstddef>
#include <cstdint>

#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    bathy::registerAllDialects(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  bool text = size > 0 && (data[0] & 1) && bytes.contains('{');
  bathy::OnnxImportOptions options;
  options.maxExternalBytes = 1 << 20;
  (void)bathy::importOnnxBuffer(bytes, "fuzz-input", text, &context, options);
  return 0;
}
