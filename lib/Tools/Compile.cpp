//===- Compile.cpp - bathyc as a library ----------------------------------===//
#include "bathy/Tools/Compile.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "bathy/Codegen/CPU/Pipelines.h"
#include "bathy/Codegen/CPU/SharedObject.h"
#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "bathy/Passes/Passes.h"
#include "bathy/Support/Diagnostics.h"
#include "bathy/Support/ToolSupport.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/artifact/artifact.h"
#include "runtime/file.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("bathyc options");
cl::opt<std::string>
    modelPath(cl::Positional, cl::Required,
              cl::desc("<model.onnx | model.onnxtext | .mlir>"),
              cl::cat(category));
cl::opt<std::string>
    outputPath("o",
               cl::desc("The artifact to write (model.bathy); written whole or "
                        "not at all"),
               cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> target("target", cl::init("cpu"),
                            cl::desc("What the code runs on (cpu)"),
                            cl::cat(category));
cl::opt<std::string>
    cpu("cpu", cl::init("x86-64-v3"),
        cl::desc("The CPU the code is for: x86-64-v3 (AVX2/FMA, the portable "
                 "default), x86-64-v4 (AVX-512), host (this machine), or any "
                 "CPU LLVM knows (znver3, sapphirerapids, ...). Microkernels "
                 "choose their instruction set at run time either way"),
        cl::value_desc("name"), cl::cat(category));
cl::opt<bool> staticShapes(
    "static-shapes",
    cl::desc("Compile for one shape: every dynamic dim takes its --dim "
             "value (1 where none is given)"),
    cl::cat(category));
cl::list<std::string>
    dimArgs("dim",
            cl::desc("With --static-shapes: the size of a dynamic dim, by "
                     "its ONNX dim_param name (repeatable)"),
            cl::value_desc("NAME=N"), cl::cat(category));
enum class Stop { Import, Graph, Fusion, Kernels, Linalg, Bufferized, LLVM };
cl::opt<Stop> compileTo(
    "compile-to",
    cl::desc("Stop after a phase and print the IR there instead of writing "
             "an artifact"),
    cl::values(clEnumValN(Stop::Import, "import", "as imported"),
               clEnumValN(Stop::Graph, "graph", "shapes inferred"),
               clEnumValN(Stop::Fusion, "fusion", "fusion groups formed"),
               clEnumValN(Stop::Kernels, "kernels", "fused and outlined"),
               clEnumValN(Stop::Linalg, "linalg", "linalg on tensors"),
               clEnumValN(Stop::Bufferized, "bufferized", "on buffers"),
               clEnumValN(Stop::LLVM, "llvm", "the LLVM dialect")),
    cl::cat(category));
cl::opt<bool> noFusion("no-fusion", cl::desc("One kernel per op"),
                       cl::cat(category));
cl::opt<bool> serialLoops("serial-loops",
                          cl::desc("Generated loops run on one thread"),
                          cl::cat(category));
cl::opt<bool> checkBounds(
    "check-bounds",
    cl::desc("Bounds-checked kernels: an access outside a buffer stops the "
             "run with an error (slow; for finding bugs in bathy). Also on "
             "when the environment has BATHY_CHECK_BOUNDS=1"),
    cl::cat(category));
cl::opt<unsigned> optLevel("opt-level", cl::init(3),
                           cl::desc("LLVM optimization level (0-3)"),
                           cl::cat(category));
cl::opt<std::string> signKey(
    "sign-key",
    cl::desc("Sign the artifact with this Ed25519 private key (PEM; make one "
             "with: openssl genpkey -algorithm ed25519 -out key.pem). "
             "bathy-run --trusted-key=public.pem then refuses artifacts this "
             "key did not sign"),
    cl::value_desc("key.pem"), cl::cat(category));
cl::opt<bool> quiet("quiet",
                    cl::desc("No progress messages on stderr (they are "
                             "shown when stderr is a terminal)"),
                    cl::cat(category));

int fail(const std::string &message) {
  llvm::errs() << "error: " << message << "\n";
  return 1;
}

/// Each kernel and the ONNX nodes of the launches that run it.
std::vector<bathy::rt::Manifest::Kernel>
kernelProvenance(const bathy::rt::Plan &plan) {
  std::vector<std::set<std::string>> nodes(plan.kernels.size());
  for (const bathy::rt::Plan::Step &step : plan.steps) {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(step.nodes).split(parts, ", ", -1, false);
    for (llvm::StringRef p : parts)
      nodes[step.kernel].insert(p.str());
  }
  std::vector<bathy::rt::Manifest::Kernel> out;
  for (size_t k = 0; k < plan.kernels.size(); ++k)
    out.push_back({plan.kernels[k], {nodes[k].begin(), nodes[k].end()}});
  return out;
}

} // namespace

int bathy::compileFromFlags(int argc, char **argv) {
  bathy::installVersionPrinter("bathyc");
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "bathyc: compiles an ONNX model ahead of time into a .bathy artifact, "
      "which bathy-run (and the runtime alone) loads and runs.\n\n"
      "  bathyc model.onnx -o model.bathy\n"
      "  bathyc model.onnx -o model.bathy --cpu=host\n"
      "  bathyc model.onnx --static-shapes --dim=batch=8 -o model-b8.bathy\n"
      "  bathyc model.onnx --compile-to=kernels\n");
  if (target != "cpu")
    return fail("--target=" + target + ": bathyc generates code for the cpu");
  if (optLevel > 3)
    return fail("--opt-level expects 0 to 3");
  if (!compileTo.getNumOccurrences() && outputPath.empty())
    return fail("no output file: give -o model.bathy (or --compile-to=PHASE "
                "to print the IR)");
  if (dimArgs.getNumOccurrences() && !staticShapes)
    return fail("--dim sizes a dim for --static-shapes; without it the "
                "artifact serves every size");
  std::string signKeyPem;
  if (!signKey.empty()) {
    absl::StatusOr<std::string> key =
        bathy::rt::ReadRegularFile(signKey, 1 << 16);
    if (!key.ok())
      return fail("--sign-key: " + std::string(key.status().message()));
    signKeyPem = std::move(*key);
  }
  bathy::Progress progress(!quiet && isatty(STDERR_FILENO));

  mlir::DialectRegistry registry;
  bathy::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  bathy::ToolDiagnosticHandler diagnostics(&context, llvm::errs());

  progress("importing " + modelPath);
  llvm::StringRef path(modelPath);
  bool isMlir = path.ends_with(".mlir") || path.ends_with(".mlirbc");
  // The model's bytes identify it in the manifest.
  absl::StatusOr<std::string> bytes =
      bathy::rt::ReadRegularFile(modelPath, uint64_t{1} << 40);
  if (!bytes.ok())
    return fail(std::string(bytes.status().message()));
  mlir::OwningOpRef<mlir::ModuleOp> module =
      isMlir ? mlir::parseSourceString<mlir::ModuleOp>(*bytes, &context)
             : bathy::importOnnxFile(modelPath, &context);
  if (!module)
    return 1;
  std::string modelSha = bathy::rt::Sha256Hex(*bytes);
  bytes->clear();
  bytes->shrink_to_fit();
  std::string producer;
  if (auto p = (*module)->getAttrOfType<mlir::StringAttr>("bathy.producer"))
    producer = p.str();

  if (staticShapes) {
    progress("specialising shapes");
    bathy::GraphSpecializeShapesPassOptions options;
    for (const std::string &d : dimArgs)
      options.dims.push_back(d);
    options.defaultDim = 1;
    mlir::PassManager pm(&context);
    pm.addNestedPass<mlir::func::FuncOp>(
        bathy::createGraphSpecializeShapesPass(options));
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  bathy::PipelineOptions pipeline;
  pipeline.fusion = !noFusion;
  pipeline.parallelLoops = !serialLoops;
  // As bathy-run: the environment can turn bounds checks on for a test run.
  const char *boundsEnv = std::getenv("BATHY_CHECK_BOUNDS");
  pipeline.boundsChecks =
      checkBounds || (boundsEnv && std::string(boundsEnv) == "1");

  if (compileTo.getNumOccurrences()) {
    if (compileTo != Stop::Import) {
      static const bathy::Phase phases[] = {
          bathy::Phase::Graph,   bathy::Phase::Graph,  bathy::Phase::Fusion,
          bathy::Phase::Kernels, bathy::Phase::Linalg, bathy::Phase::Bufferized,
          bathy::Phase::LLVM};
      mlir::PassManager pm(&context);
      bathy::buildCpuJitPipeline(
          pm, phases[static_cast<int>(compileTo.getValue())], pipeline);
      if (mlir::failed(pm.run(*module)))
        return 1;
    }
    mlir::OpPrintingFlags flags;
    flags.elideLargeResourceString(1024);
    module->print(llvm::outs(), flags);
    llvm::outs() << "\n";
    return 0;
  }

  bathy::CpuCompileOptions options;
  options.cpu = cpu;
  options.optLevel = optLevel;
  options.pipeline = pipeline;
  options.releaseWeightBlobs = true;
  options.progress = [&](llvm::StringRef what) { progress(what); };
  mlir::FailureOr<bathy::CpuCompiledModel> compiled =
      bathy::compileForCpu(*module, options);
  if (mlir::failed(compiled))
    return 1;

  bathy::rt::ArtifactContents contents;
  bathy::rt::Manifest &m = contents.manifest;
  m.compiler_version = bathy::versionString();
  m.target = "cpu";
  m.cpu = compiled->cpu;
  m.cpu_features = compiled->cpuFeatures;
  m.inputs = compiled->plan.input_specs;
  m.outputs = compiled->plan.output_specs;
  m.model_sha256 = modelSha;
  m.model_producer = producer;
  m.model_file = std::filesystem::path(modelPath.getValue()).filename();
  m.options = {{"cpu", cpu},
               {"opt-level", std::to_string(optLevel)},
               {"fusion", noFusion ? "off" : "on"},
               {"parallel-loops", serialLoops ? "off" : "on"},
               {"check-bounds", pipeline.boundsChecks ? "on" : "off"},
               {"static-shapes", staticShapes ? "on" : "off"}};
  for (const std::string &d : dimArgs)
    m.options.push_back({"dim", d});
  m.kernels = kernelProvenance(compiled->plan);
  contents.plans = {&compiled->plan};
  contents.code = std::move(compiled->sharedObject);
  contents.sign_key_pem = signKeyPem;
  progress("writing " + outputPath);
  absl::StatusOr<std::string> artifact = bathy::rt::SerializeArtifact(contents);
  if (!artifact.ok())
    return fail(std::string(artifact.status().message()));
  std::filesystem::path out(outputPath.getValue());
  std::string dir = out.has_parent_path() ? out.parent_path().string() : ".";
  if (absl::Status s = bathy::rt::WriteFileAtomically(
          dir, out.filename().string(), *artifact);
      !s.ok())
    return fail(std::string(s.message()));
  llvm::outs() << "wrote " << outputPath << ": "
               << compiled->plan.kernels.size() << " kernels for "
               << compiled->cpu << ", "
               << llvm::format("%.1f", artifact->size() / 1048576.0)
               << " MiB (code "
               << llvm::format("%.1f", contents.code.size() / 1048576.0)
               << " MiB), in " << llvm::format("%.1f", progress.seconds())
               << " s\n";
  return 0;
}
