//===- RunModule.cpp - bathy-run: import, compile and run a model ---------===//
//
// The library behind bathy-run (tools/bathy-run is a main that calls
// runModuleFromFlags): its flags, the compile cache (a model compiled
// before is loaded, not compiled), import and compile, then an rt::Session
// (with a JIT specializer under --specialize-after) that
// runtime/tools/run.h runs once, benchmarks or replays a trace on.
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
#include "bathy/Codegen/CPU/Pipelines.h"
#include "bathy/Codegen/CPU/SharedObject.h"
#include "bathy/Codegen/CUDA/Cuda.h"
#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "bathy/Passes/FusionReport.h"
#include "bathy/Passes/Passes.h"
#include "bathy/Support/Diagnostics.h"
#include "bathy/Support/ToolSupport.h"
#include "bathy/Tools/JitSession.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/model.h"
#include "runtime/cuda/driver.h"
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
static cl::opt<std::string> device(
    "device", cl::init("cpu"),
    cl::desc("Device to run on: cpu; cuda-emu (the model's CUDA kernels, "
             "built for this CPU by the host C++ compiler against bathy's "
             "emulation of CUDA's launch model: for testing the CUDA target "
             "without a GPU); cuda (a GPU through the CUDA driver)"),
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

static cl::opt<std::string> shapeTrace(
    "shape-trace",
    cl::desc("Replay a trace: one request per line of FILE, its dynamic dims "
             "as NAME=SIZE (e.g. 'batch=1 seq=37'), on random inputs; then "
             "print requests, shapes, compiles, cache hits, latency per plan "
             "kind and memory"),
    cl::value_desc("FILE"), cl::cat(category));
static cl::list<std::string> padArgs(
    "pad",
    cl::desc("Requests may be padded along DIM up to a bucket or "
             "specialisation: inputs with DIM padded with V (default 0), the "
             "mask INPUT with its own value, outputs cut back (repeatable; "
             "the model's author vouches for it)"),
    cl::value_desc("DIM[:value=V][:mask=INPUT][:mask-value=V]"),
    cl::cat(category));
static cl::opt<unsigned> specializeAfter(
    "specialize-after", cl::init(0),
    cl::desc("Compile a plan specialised for a shape in the background once "
             "N requests had it (0: never); the generic plan serves it "
             "until then"),
    cl::value_desc("N"), cl::cat(category));
static cl::opt<unsigned> maxSpecializations(
    "max-specializations", cl::init(8),
    cl::desc("Most specialised plans alive at once (the least recently used "
             "goes first)"),
    cl::value_desc("K"), cl::cat(category));
static cl::opt<std::string> maxSpecializationMemory(
    "max-specialization-memory",
    cl::desc("Most memory the specialised plans may hold together (code, "
             "arenas, constants of their own), e.g. 1G (default 2G)"),
    cl::value_desc("BYTES"), cl::cat(category));
static cl::opt<bool> noCache(
    "no-cache",
    cl::desc("Neither use nor fill the compile cache ($BATHY_CACHE_DIR, "
             "default ~/.cache/bathy; bathy-cache looks after it)"),
    cl::cat(category));

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
  bool cudaEmu = device == "cuda-emu";
  if (device == "cuda") {
    // The driver is looked for first, so the message says what is missing.
    absl::StatusOr<std::string> driver = bathy::rt::cuda::DescribeDriver();
    if (!driver.ok())
      return fail("--device=cuda: " + std::string(driver.status().message()));
    return fail("--device=cuda: found " + *driver +
                ", but bathy-run cannot run kernels on it yet (the CUDA "
                "executor is not built; --device=cuda-emu runs the CUDA "
                "kernels on the CPU)");
  }
  if (device != "cpu" && !cudaEmu)
    return fail("--device expects cpu, cuda-emu or cuda, got '" + device +
                "'");
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
  runFlags.shape_trace = shapeTrace;
  runFlags.pad = padArgs;
  runFlags.specialize_after = specializeAfter;
  runFlags.max_specializations = maxSpecializations;
  runFlags.max_specialization_memory = maxSpecializationMemory;
  absl::StatusOr<bathy::rt::SessionOptions> sessionOptions =
      tool::SessionOptionsFrom(runFlags);
  if (!sessionOptions.ok())
    return fail(std::string(sessionOptions.status().message()));
  tool::InputFlags flags;
  if (std::optional<std::string> error = tool::ParseInputFlags(runFlags, flags))
    return fail(*error);

  bathy::Progress progress(!quiet && isatty(STDERR_FILENO));
  auto compileStart = std::chrono::steady_clock::now();
  llvm::StringRef path(modelPath);
  std::vector<std::vector<int64_t>> shapes;
  // A .bathy artifact (bathyc's) is loaded, not compiled.
  if (path.ends_with(".bathy")) {
    if (cudaEmu)
      return fail("--device=cuda-emu compiles a model for the CUDA target; " +
                  modelPath + " holds CPU code (give bathy-run the model)");
    const cl::Option *compileOptions[] = {
        &staticShapes, &noFusion, &serialLoops,     &checkBounds,
        &explainFusion, &optLevel, &specializeAfter, &noCache};
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
    absl::StatusOr<std::unique_ptr<bathy::rt::Artifact>> artifact =
        bathy::rt::Artifact::Open(modelPath, keyPem);
    if (!artifact.ok())
      return fail(std::string(artifact.status().message()));
    absl::StatusOr<std::unique_ptr<bathy::rt::Session>> session =
        bathy::rt::Session::FromArtifact(std::move(*artifact), modelPath,
                                         *sessionOptions);
    if (!session.ok())
      return fail(std::string(session.status().message()));
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - compileStart)
                         .count();
    if (printPlan) {
      llvm::outs() << (*session)->generic().plan().ToString();
      return 0;
    }
    if (!shapeTrace.empty()) {
      tool::Startup startup;
      startup.seconds = seconds;
      return tool::ReplayTrace(**session, runFlags, flags, startup);
    }
    if (std::optional<std::string> error =
            tool::InputShapes((*session)->inputs(), flags, shapes))
      return fail(*error);
    return tool::RunAndReport(**session, runFlags, flags, shapes, seconds);
  }

  if (trustedKey.getNumOccurrences())
    return fail("--trusted-key applies to .bathy artifacts; " + modelPath +
                " is compiled here, from source");
  if (staticShapes && specializeAfter)
    return fail("--specialize-after specialises a generic plan; "
                "--static-shapes compiles for one shape only");
  if (optLevel > 3)
    return fail("--opt-level expects 0 to 3");
  bathy::PipelineOptions pipelineOptions;
  pipelineOptions.fusion = !noFusion;
  pipelineOptions.parallelLoops = !serialLoops;
  const char *boundsEnv = std::getenv("BATHY_CHECK_BOUNDS");
  pipelineOptions.boundsChecks =
      checkBounds || (boundsEnv && std::string(boundsEnv) == "1");
  bathy::CpuCompileOptions jitOptions;
  jitOptions.pipeline = pipelineOptions;
  jitOptions.releaseWeightBlobs = true; // the module is not used again
  jitOptions.optLevel = optLevel;
  jitOptions.progress = [&](llvm::StringRef what) { progress(what); };
  auto note = [](const std::string &message) {
    llvm::errs() << "note: " << message << "\n";
  };

  if (cudaEmu) {
    const cl::Option *cpuOnly[] = {&specializeAfter, &checkBounds,
                                   &serialLoops};
    for (const cl::Option *o : cpuOnly)
      if (o->getNumOccurrences())
        return fail("--" + o->ArgStr.str() +
                    " applies to the cpu device, not --device=cuda-emu");
  }
  // The compile cache: a model compiled before (same bytes, shapes,
  // options, compiler and CPU) is loaded, not compiled. It holds CPU code
  // only, so --device=cuda-emu compiles every time.
  bool inspecting = printPlan || explainFusion.getNumOccurrences() || cudaEmu;
  std::optional<bathy::rt::CompileCache> cache;
  if (!noCache && !inspecting) {
    absl::StatusOr<bathy::rt::CompileCache> c =
        bathy::rt::CompileCache::FromEnvironment();
    if (c.ok())
      cache = std::move(*c);
    else
      note("compiling without the cache: " + std::string(c.status().message()));
  }
  std::string identity, cacheKey;
  if (cache || specializeAfter) {
    absl::StatusOr<std::string> id = bathy::modelIdentity(modelPath);
    if (!id.ok())
      return fail(std::string(id.status().message()));
    identity = std::move(*id);
  }
  tool::Startup startup;
  std::unique_ptr<bathy::rt::CpuModel> generic;
  if (cache) {
    // Shapes for --static-shapes are what the flags say (the entry's
    // inputs are static, so the flags are not checked against them again).
    std::string shapesKey = "generic";
    if (staticShapes) {
      shapesKey = "static:";
      for (const auto &[name, v] : flags.dims)
        shapesKey += " dim " + name + "=" + std::to_string(v);
      for (const auto &[name, shape] : flags.shapes)
        shapesKey += " shape " + name + "=" + bathy::rt::ShapeToString(shape);
      for (const auto &[name, t] : flags.files)
        shapesKey += " file " + name + "=" + bathy::rt::ShapeToString(t.shape());
    }
    cacheKey = bathy::compileCacheKey(identity, jitOptions, shapesKey);
    std::string why;
    std::shared_ptr<const bathy::rt::Artifact> entry =
        cache->Lookup(cacheKey, &why);
    if (!why.empty())
      note(why);
    if (entry) {
      progress("loading the compiled model from the cache");
      absl::StatusOr<std::unique_ptr<bathy::rt::CpuModel>> m =
          bathy::rt::CpuModel::FromArtifact(entry, modelPath, 0);
      if (!m.ok()) {
        note("the cached compile of " + modelPath + " does not load (" +
             std::string(m.status().message()) + "); compiling again");
      } else {
        generic = std::move(*m);
        startup.cache_hits = 1;
        if (staticShapes)
          for (const TensorSpec &s : generic->inputs())
            shapes.push_back(s.shape);
        else if (std::optional<std::string> error =
                     tool::InputShapes(generic->inputs(), flags, shapes))
          return fail(*error);
      }
    }
  }

  if (!generic) {
    mlir::DialectRegistry registry;
    bathy::registerAllDialects(registry);
    mlir::MLIRContext context(registry);
    context.printOpOnDiagnostic(debug);
    bathy::ToolDiagnosticHandler diagnostics(&context, llvm::errs());
    progress("importing " + modelPath);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        bathy::importModel(modelPath, &context);
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
    std::string producer;
    if (auto p = (*module)->getAttrOfType<mlir::StringAttr>("bathy.producer"))
      producer = p.str();

    if (staticShapes) {
      progress("specialising for the inputs' shapes");
      if (mlir::failed(bathy::specializeForShapes(*module, *specs, shapes)))
        return 1;
    }
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
    if (cudaEmu) {
      bathy::CudaCompileOptions cudaOptions;
      cudaOptions.pipeline = pipelineOptions;
      cudaOptions.releaseWeightBlobs = true;
      cudaOptions.progress = jitOptions.progress;
      mlir::FailureOr<bathy::CudaCompiledModel> cuda =
          bathy::compileForCuda(*module, cudaOptions);
      if (mlir::failed(cuda))
        return 1;
      progress("building the CUDA emulation");
      llvm::Expected<std::string> code =
          bathy::buildCudaEmulation(cuda->source, modelPath);
      if (!code)
        return fail(llvm::toString(code.takeError()));
      absl::StatusOr<std::unique_ptr<bathy::rt::CpuModel>> m =
          bathy::rt::CpuModel::Create(std::move(cuda->plan), *code,
                                      "the CUDA emulation");
      if (!m.ok())
        return fail(std::string(m.status().message()));
      generic = std::move(*m);
    } else {
      mlir::FailureOr<bathy::CpuCompiledModel> compiled =
          bathy::compileForCpu(*module, jitOptions);
      if (mlir::failed(compiled))
        return 1;
      startup.foreground_compiles = 1;
      if (cache) {
        progress("keeping the compiled model in the cache");
        std::vector<std::pair<std::string, std::string>> opts =
            bathy::codeOptions(jitOptions);
        opts.push_back({"static-shapes", staticShapes ? "on" : "off"});
        if (staticShapes)
          opts.push_back({"shape", bathy::shapesText(*specs, shapes)});
        absl::Status stored =
            bathy::storeCompiled(*cache, cacheKey, *compiled, modelPath,
                                 identity, producer, std::move(opts));
        if (!stored.ok())
          note("the compile cache keeps no copy: " +
               std::string(stored.message()));
      }
      absl::StatusOr<std::unique_ptr<bathy::rt::CpuModel>> m =
          bathy::rt::CpuModel::Create(std::move(compiled->plan),
                                      compiled->sharedObject,
                                      "the compiled kernels");
      if (!m.ok())
        return fail(std::string(m.status().message()));
      generic = std::move(*m);
    }
  }
  startup.seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - compileStart)
                        .count();
  progress(startup.cache_hits ? "loaded" : "compiled");
  if (printPlan) {
    llvm::outs() << generic->plan().ToString();
    return 0;
  }
  std::unique_ptr<bathy::rt::Specializer> specializer;
  if (specializeAfter)
    specializer = bathy::createJitSpecializer(
        modelPath, identity, generic->inputs(), jitOptions, cache,
        sessionOptions->log);
  bathy::rt::Session session(std::move(generic), {}, std::move(specializer),
                             *sessionOptions);
  llvm::outs().flush();
  if (!shapeTrace.empty())
    return tool::ReplayTrace(session, runFlags, flags, startup);
  return tool::RunAndReport(session, runFlags, flags, shapes, startup.seconds);
}
