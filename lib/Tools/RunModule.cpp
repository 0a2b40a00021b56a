//===- RunModule.cpp - bathy-run: import, compile and run a model ---------===//
//
// The library behind bathy-run (tools/bathy-run is a main that calls
// runModuleFromFlags): its flags, input generation, .npy input and output,
// the timing loop, and the line protocol bench/ drives it with.
//
// Everything a user names is checked before the compile starts: inputs
// (names, files, shapes), dims and shapes for random inputs, output folder.
// Errors list what would have been valid.
//
//===----------------------------------------------------------------------===//
#include "bathy/Tools/RunModule.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>

#include "bathy/Codegen/CPU/ExecutionPlan.h"
#include "bathy/Codegen/CPU/JitModel.h"
#include "bathy/Codegen/CPU/Pipelines.h"
#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "bathy/Passes/FusionReport.h"
#include "bathy/Passes/Passes.h"
#include "bathy/Support/Diagnostics.h"
#include "bathy/Support/ToolSupport.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/model.h"
#include "runtime/file.h"
#include "runtime/memory.h"
#include "runtime/npy.h"
#include "runtime/tools/run.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;
using bathy::rt::HostTensor;
using bathy::rt::TensorSpec;

static cl::OptionCategory category("bathy-run options");
static cl::opt<std::string>
    modelPath(cl::Positional, cl::Required,
              cl::desc("<model.onnx | model.onnxtext | bathy IR .mlir>"),
              cl::cat(category));
static cl::list<std::string>
    inputArgs("input",
              cl::desc("An input as NAME=path.npy (repeatable; inputs not "
                       "given are random, of the shapes --dim and --shape "
                       "say)"),
              cl::value_desc("NAME=FILE"), cl::cat(category));
static cl::list<std::string> dimArgs(
    "dim",
    cl::desc("Size of a dynamic dim, by its ONNX dim_param name (repeatable; "
             "dynamic dims nothing sets are 1)"),
    cl::value_desc("NAME=VALUE"), cl::cat(category));
static cl::list<std::string> shapeArgs(
    "shape",
    cl::desc("Whole shape of a random input, e.g. --shape=x=1x3x224x224 "
             "(repeatable; sets dims that have no dim_param too)"),
    cl::value_desc("NAME=D0xD1x..."), cl::cat(category));
static cl::opt<std::string> outputDir(
    "output-dir",
    cl::desc("Write each output as DIR/<name>.npy (characters other than "
             "letters, digits, '-', '_' and '.' become '_'; names that "
             "collide get _1, _2, ...); each file written is printed"),
    cl::value_desc("DIR"), cl::cat(category));
static cl::opt<std::string> saveInputs(
    "save-inputs",
    cl::desc("Write the inputs of the run (random ones included) as "
             "DIR/<name>.npy, to reproduce it elsewhere with --input"),
    cl::value_desc("DIR"), cl::cat(category));
static cl::opt<std::string> device("device", cl::init("cpu"),
                                   cl::desc("Device to run on (cpu)"),
                                   cl::cat(category));
static cl::opt<unsigned> benchmark(
    "benchmark", cl::init(0),
    cl::desc("Run N more times and print compile time and run latency "
             "(median, p90)"),
    cl::value_desc("N"), cl::cat(category));
static cl::opt<unsigned> seed("seed", cl::init(0),
                              cl::desc("Seed for random inputs"),
                              cl::cat(category));
static cl::opt<std::string> maxMemory(
    "max-memory",
    cl::desc("Most tensor memory the run may hold, e.g. 8G or 512M (default: "
             "the machine's memory); models, inputs and allocations beyond "
             "it are refused with an error"),
    cl::value_desc("BYTES"), cl::cat(category));

static cl::opt<std::string> trustedKey(
    "trusted-key",
    cl::desc("Run only .bathy artifacts signed by this Ed25519 public key "
             "(PEM; bathyc --sign-key signs); unsigned ones and ones whose "
             "signature does not verify are refused"),
    cl::value_desc("public.pem"), cl::cat(category));
static cl::opt<std::string> explainFusion(
    "explain-fusion", cl::ValueOptional,
    cl::desc("Compile without running and print each kernel: its kind, the "
             "ONNX nodes it covers and why neighbours were not fused "
             "(=json for the same as JSON)"),
    cl::value_desc("text|json"), cl::cat(category));
static cl::opt<bool> printPlan(
    "print-plan",
    cl::desc("Compile, print the execution plan the runtime runs (inputs, "
             "constants, kernel launches with the values each one releases, "
             "outputs) and stop"),
    cl::cat(category));
static cl::opt<bool>
    noFusion("no-fusion",
             cl::desc("One kernel per op (for comparisons and triage)"),
             cl::cat(category));

static cl::opt<bool> serialLoops(
    "serial-loops",
    cl::desc("Run generated loop nests on one thread; only the GEMM/conv "
             "microkernels use the thread pool (for comparisons and triage)"),
    cl::cat(category));

static cl::opt<bool> staticShapes(
    "static-shapes",
    cl::desc("Compile for the shapes of this run's inputs (--input files, "
             "else --shape and --dim values): every dynamic dim becomes "
             "static, shape computations fold and kernels are specialised; "
             "the compiled model then takes only those shapes"),
    cl::cat(category));
static cl::opt<bool>
    quiet("quiet",
          cl::desc("No progress messages on stderr (they are shown when "
                   "stderr is a terminal)"),
          cl::cat(category));
static cl::opt<bool> checkBounds(
    "check-bounds",
    cl::desc("Bounds-checked kernels: every memory access of generated code "
             "is checked and one outside its buffer stops the run with an "
             "error (slow; for finding bugs in bathy). Also on when the "
             "environment has BATHY_CHECK_BOUNDS=1"),
    cl::cat(category));
static cl::opt<bool>
    debug("debug",
          cl::desc("Show the IR of the operation an error is about (for bathy "
                   "developers)"),
          cl::cat(category));

static cl::opt<unsigned>
    optLevel("opt-level", cl::init(3),
             cl::desc("LLVM optimization level of the generated code (0-3; for "
                      "triage)"),
             cl::Hidden, cl::cat(category));

static cl::opt<bool> benchStdin(
    "bench-stdin",
    cl::desc("For the benchmark harness: after the first run print "
             "'ready <compile seconds>', then answer each stdin line "
             "'run N' with 'times <ms> ...' until 'quit' or end of input"),
    cl::Hidden, cl::cat(category));

static int fail(const std::string &message) {
  llvm::errs() << "error: " << message << "\n";
  return 1;
}

namespace {

/// Compiles for the shapes of this run (--static-shapes): the inputs' shapes,
/// then --dim values; other dynamic dims are 1.
int specializeInputs(mlir::ModuleOp module,
                     const std::vector<TensorSpec> &specs,
                     const std::vector<std::vector<int64_t>> &shapes) {
  bathy::GraphSpecializeShapesPassOptions options;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string shape;
    for (int64_t d : shapes[i])
      shape += (shape.empty() ? "" : "x") + std::to_string(d);
    if (shapes[i].empty())
      continue; // rank 0: nothing to specialise
    options.shapes.push_back(specs[i].name + "=" + shape);
  }
  options.defaultDim = 1;
  mlir::PassManager pm(module.getContext());
  pm.addNestedPass<mlir::func::FuncOp>(
      bathy::createGraphSpecializeShapesPass(options));
  return mlir::failed(pm.run(module)) ? 1 : 0;
}

} // namespace

int bathy::runModuleFromFlags(int argc, char **argv) {
  bathy::installVersionPrinter("bathy-run");
  // libLLVM registers an unrelated --threads; bathy-run's takes its place.
  if (cl::Option *theirs = cl::getRegisteredOptions().lookup("threads"))
    theirs->removeArgument();
  static cl::opt<int> threads(
      "threads", cl::init(0),
      cl::desc("Threads the CPU kernels use (0: all hardware threads)"),
      cl::value_desc("N"), cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "bathy-run: runs a model on the CPU: a .bathy artifact (bathyc's), or "
      "an ONNX model it imports and compiles in process first.\n\n"
      "  bathy-run model.bathy --input=x=x.npy --output-dir=out\n"
      "  bathy-run model.onnx --input=x=x.npy --output-dir=out\n"
      "  bathy-run model.onnx --dim=batch=8 --benchmark=20 --threads=2\n"
      "  bathy-run model.onnx --shape=x=1x3x224x224 --save-inputs=in\n");
  if (device != "cpu")
    return fail("device '" + device +
                "' is not available; bathy-run runs on the cpu");
  if (threads < 0 || threads > 1024)
    return fail("--threads expects 0 <= N <= 1024 (0: all hardware threads), "
                "got " +
                std::to_string(threads));
  if (maxMemory.getNumOccurrences()) {
    int64_t bytes = 0;
    if (absl::Status s = bathy::rt::ParseByteSize(maxMemory, &bytes); !s.ok())
      return fail("--max-memory: " + std::string(s.message()));
    bathy::rt::SetMemoryLimit(bytes);
  }
  bathy_rt_set_num_threads(threads);

  namespace tool = bathy::rt::tool;
  tool::RunFlags runFlags;
  runFlags.inputs = inputArgs;
  runFlags.dims = dimArgs;
  runFlags.shapes = shapeArgs;
  runFlags.output_dir = outputDir;
  runFlags.save_inputs = saveInputs;
  runFlags.benchmark = benchmark;
  runFlags.seed = seed;
  runFlags.bench_stdin = benchStdin;
  tool::InputFlags flags;
  if (std::optional<std::string> error = tool::ParseInputFlags(runFlags, flags))
    return fail(*error);

  bathy::Progress progress(!quiet && isatty(STDERR_FILENO));
  auto compileStart = std::chrono::steady_clock::now();
  llvm::StringRef path(modelPath);
  std::vector<std::vector<int64_t>> shapes;
  // A .bathy artifact (bathyc's) is loaded, not compiled.
  if (path.ends_with(".bathy")) {
    const cl::Option *compileOptions[] = {&staticShapes,  &noFusion,
                                          &serialLoops,   &checkBounds,
                                          &explainFusion, &optLevel};
    for (const cl::Option *o : compileOptions)
      if (o->getNumOccurrences())
        return fail("--" + o->ArgStr.str() + " is a compile option; " +
                    modelPath + " was compiled by bathyc (give it to bathyc)");
    progress("loading " + modelPath);
    std::string keyPem;
    if (!trustedKey.empty()) {
      absl::StatusOr<std::string> key =
          bathy::rt::ReadRegularFile(trustedKey, 1 << 16);
      if (!key.ok())
        return fail("--trusted-key: " + std::string(key.status().message()));
      keyPem = std::move(*key);
    }
    absl::StatusOr<std::unique_ptr<bathy::rt::CpuModel>> model =
        bathy::rt::CpuModel::Open(modelPath, keyPem);
    if (!model.ok())
      return fail(std::string(model.status().message()));
    if (std::optional<std::string> error =
            tool::InputShapes((*model)->inputs(), flags, shapes))
      return fail(*error);
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - compileStart)
                         .count();
    if (printPlan) {
      llvm::outs() << (*model)->plan().ToString();
      return 0;
    }
    return tool::RunAndReport(**model, runFlags, flags, shapes, seconds);
  }

  if (trustedKey.getNumOccurrences())
    return fail("--trusted-key applies to .bathy artifacts; " + modelPath +
                " is compiled here, from source");
  mlir::DialectRegistry registry;
  bathy::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.printOpOnDiagnostic(debug);
  bathy::ToolDiagnosticHandler diagnostics(&context, llvm::errs());
  progress("importing " + modelPath);
  // bathy IR as text or bytecode (what bathy-import writes), else ONNX.
  if (path.ends_with(".mlir") || path.ends_with(".mlirbc"))
    if (absl::StatusOr<bathy::rt::File> f =
            bathy::rt::OpenRegularFile(modelPath);
        !f.ok())
      return fail(std::string(f.status().message()));
  mlir::OwningOpRef<mlir::ModuleOp> module =
      path.ends_with(".mlir") || path.ends_with(".mlirbc")
          ? mlir::parseSourceFile<mlir::ModuleOp>(path, &context)
          : bathy::importOnnxFile(modelPath, &context);
  if (!module)
    return 1;
  auto mainFunc = module->lookupSymbol<mlir::func::FuncOp>("main");
  if (!mainFunc)
    return fail("the model has no main function");
  mlir::FailureOr<std::vector<TensorSpec>> specs =
      bathy::inputSpecsOf(mainFunc);
  if (mlir::failed(specs))
    return 1;
  if (!saveInputs.empty())
    for (const TensorSpec &s : *specs)
      if (s.dtype == bathy::rt::DType::kBF16)
        return fail("--save-inputs: input '" + s.name +
                    "' is bf16, which .npy files cannot hold");
  if (std::optional<std::string> error =
          tool::InputShapes(*specs, flags, shapes))
    return fail(*error);

  if (staticShapes) {
    progress("specialising for the inputs' shapes");
    if (int rc = specializeInputs(*module, *specs, shapes))
      return rc;
  }
  bathy::PipelineOptions pipelineOptions;
  pipelineOptions.fusion = !noFusion;
  pipelineOptions.parallelLoops = !serialLoops;
  const char *boundsEnv = std::getenv("BATHY_CHECK_BOUNDS");
  pipelineOptions.boundsChecks =
      checkBounds || (boundsEnv && std::string(boundsEnv) == "1");
  if (explainFusion.getNumOccurrences()) {
    bool json = explainFusion == "json";
    if (!json && !explainFusion.empty() && explainFusion != "text")
      return fail("--explain-fusion takes 'text' or 'json', got '" +
                  explainFusion + "'");
    mlir::PassManager pm(&context);
    bathy::buildKernelPipeline(pm, pipelineOptions);
    if (mlir::failed(pm.run(*module)))
      return 1;
    bathy::printFusionReport(*module, llvm::outs(), json);
    return 0;
  }
  bathy::JitOptions jitOptions;
  jitOptions.pipeline = pipelineOptions;
  jitOptions.releaseWeightBlobs = true; // the module is not used again
  if (optLevel > 3)
    return fail("--opt-level expects 0 to 3");
  jitOptions.optLevel = optLevel;
  jitOptions.progress = [&](llvm::StringRef what) { progress(what); };
  mlir::FailureOr<std::unique_ptr<bathy::JitModel>> jit =
      bathy::JitModel::compile(*module, jitOptions);
  if (mlir::failed(jit))
    return 1;
  double compileSeconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - compileStart)
                              .count();
  progress("compiled");
  if (printPlan) {
    llvm::outs() << (*jit)->plan().ToString();
    return 0;
  }
  llvm::outs().flush();
  return tool::RunAndReport((*jit)->model(), runFlags, flags, shapes,
                            compileSeconds);
}
