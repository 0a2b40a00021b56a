//===- bathy-import.cpp - ONNX to bathy MLIR ------------------------------===//
#include "bathy/Codegen/CPU/Pipelines.h"
#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "bathy/Support/Diagnostics.h"
#include "bathy/Support/ToolSupport.h"
#include "mlir/Pass/PassManager.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"

namespace cl = llvm::cl;

static cl::OptionCategory category("bathy-import options");
static cl::opt<std::string> inputPath(cl::Positional, cl::Optional,
                                      cl::desc("<model.onnx | model.onnxtext>"),
                                      cl::cat(category));
static cl::opt<std::string>
    outputPath("o", cl::init("-"), cl::desc("Output file (default: stdout)"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> check(
    "check",
    cl::desc("Print a per-op-type support table and every unsupported node, "
             "then lower the model's kernels for the CPU and report any that "
             "do not compile; exit 1 if anything is unsupported"),
    cl::cat(category));
static cl::opt<bool> listOps(
    "list-ops",
    cl::desc("Print the table of ONNX ops bathy imports, with their opsets "
             "(Markdown, as docs/supported-ops.md)"),
    cl::cat(category));
static cl::opt<bool> emitBytecode(
    "emit-bytecode",
    cl::desc("Write MLIR bytecode (weights stored in binary, lossless)"),
    cl::cat(category));
static cl::opt<bool> keepWeights(
    "keep-weights",
    cl::desc("Print weight blobs in text output (by default blobs over 1 KiB "
             "are elided so that text stays small)"),
    cl::cat(category));
static cl::opt<bool> printLocations(
    "print-locations", cl::init(true),
    cl::desc("Print op locations, the ONNX node each op came from"),
    cl::cat(category));
static cl::opt<int64_t> maxInline(
    "max-inline-elements", cl::init(64),
    cl::desc("Initializers up to this many elements become inline constants"),
    cl::cat(category));

static cl::opt<bathy::Phase> compileTo(
    "compile-to",
    cl::desc("Run bathy's CPU pipeline up to a phase and print the IR there "
             "(default: the imported IR)"),
    cl::values(clEnumValN(bathy::Phase::Graph, "graph", "shapes inferred"),
               clEnumValN(bathy::Phase::Fusion, "fusion", "fusion groups"),
               clEnumValN(bathy::Phase::Kernels, "kernels", "kernels outlined"),
               clEnumValN(bathy::Phase::Linalg, "linalg", "linalg on tensors"),
               clEnumValN(bathy::Phase::Bufferized, "bufferized", "on buffers"),
               clEnumValN(bathy::Phase::LLVM, "llvm", "the LLVM dialect")),
    cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  bathy::installVersionPrinter("bathy-import");
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "bathy-import: converts an ONNX model (binary, or ONNX text format) "
      "into the bathy MLIR dialect.\n\n"
      "  bathy-import model.onnx -o model.mlir\n"
      "  bathy-import --check model.onnx\n"
      "  bathy-import model.onnx --compile-to=linalg\n");

  if (listOps) {
    bathy::printSupportedOps(llvm::outs());
    return 0;
  }
  if (inputPath.empty()) {
    llvm::errs() << "bathy-import: no model given (see --help)\n";
    return 1;
  }
  mlir::DialectRegistry registry;
  bathy::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  bathy::ToolDiagnosticHandler diagnostics(&context, llvm::errs());

  if (check) {
    if (mlir::failed(bathy::checkOnnxFile(inputPath, &context, llvm::outs())))
      return 1;
    // Every op imports; lower the kernels to linalg (the part that can
    // refuse an op) and report what does not compile.
    context.printOpOnDiagnostic(false);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        bathy::importOnnxFile(inputPath, &context);
    if (!module)
      return 1;
    mlir::PassManager pm(&context);
    bathy::PipelineOptions pipeline;
    pipeline.shapeKernels = true;
    bathy::buildKernelPipeline(pm, pipeline);
    bathy::buildCpuCodegenPipeline(pm, bathy::Phase::Linalg, pipeline,
                                   /*lowerHost=*/false);
    if (mlir::failed(pm.run(*module))) {
      llvm::outs() << "cpu: does not compile (see the errors above)\n";
      return 1;
    }
    llvm::outs() << "cpu: every kernel lowers\n";
    return 0;
  }

  bathy::OnnxImportOptions options;
  options.maxInlineElements = maxInline;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      bathy::importOnnxFile(inputPath, &context, options);
  if (!module)
    return 1;
  if (compileTo.getNumOccurrences()) {
    mlir::PassManager pm(&context);
    bathy::buildCpuJitPipeline(pm, compileTo);
    if (mlir::failed(pm.run(*module)))
      return 1;
  }

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputPath, &error);
  if (!output) {
    llvm::errs() << "bathy-import: " << error << "\n";
    return 1;
  }
  if (emitBytecode) {
    if (mlir::failed(mlir::writeBytecodeToFile(*module, output->os())))
      return 1;
  } else {
    mlir::OpPrintingFlags flags;
    if (!keepWeights)
      flags.elideLargeResourceString(1024);
    if (printLocations)
      flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
    module->print(output->os(), flags);
  }
  output->keep();
  return 0;
}
