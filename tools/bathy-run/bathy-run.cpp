//===- bathy-run.cpp - Import, compile in process and run an ONNX model ---===//
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>

#include "bathy/Codegen/JitModel.h"
#include "bathy/Codegen/Pipelines.h"
#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "bathy/Passes/FusionReport.h"
#include "bathy/Passes/Passes.h"
#include "bathy/Support/Diagnostics.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/cpu/kernels.h"
#include "runtime/npy.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static cl::OptionCategory category("bathy-run options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx | model.onnxtext>"),
                                      cl::cat(category));
static cl::list<std::string>
    inputArgs("input", cl::desc("An input as NAME=path.npy (repeatable)"),
              cl::value_desc("NAME=FILE"), cl::cat(category));
static cl::list<std::string> dimArgs(
    "dim",
    cl::desc("Size of a dynamic dim for random inputs, by its ONNX dim_param "
             "name: NAME=VALUE (repeatable; unnamed dynamic dims are 1)"),
    cl::value_desc("NAME=VALUE"), cl::cat(category));
static cl::opt<std::string>
    outputDir("output-dir", cl::desc("Write each output as DIR/<name>.npy"),
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
             "else --dim values): every dynamic dim becomes static, shape "
             "computations fold and kernels are specialised; the compiled "
             "model then takes only those shapes"),
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

/// Fills a tensor with seeded random values suited to its type.
static void randomFill(bathy::rt::HostTensor &t, std::mt19937 &rng) {
  using bathy::rt::DType;
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 9);
  int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype()) {
    case DType::kF32:
      t.data_as<float>()[i] = real(rng);
      break;
    case DType::kF64:
      t.data_as<double>()[i] = real(rng);
      break;
    case DType::kI64:
      t.data_as<int64_t>()[i] = small(rng);
      break;
    case DType::kI32:
      t.data_as<int32_t>()[i] = small(rng);
      break;
    case DType::kBool:
      t.data_as<uint8_t>()[i] = small(rng) % 2;
      break;
    case DType::kI8:
    case DType::kU8:
      t.data_as<uint8_t>()[i] = static_cast<uint8_t>(small(rng));
      break;
    default:
      break; // f16/bf16/others stay zero.
    }
  }
}

static std::string fileNameFor(std::string name) {
  for (char &c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' &&
        c != '.')
      c = '_';
  return name + ".npy";
}

/// Compiles for the shapes of this run (--static-shapes): input files give
/// whole shapes, --dim values the rest; other dynamic dims are 1.
static int specializeInputs(
    mlir::ModuleOp module,
    const std::map<std::string, bathy::rt::HostTensor> &preloaded,
    const std::map<std::string, int64_t> &dims) {
  bathy::SpecializeShapesPassOptions options;
  for (const auto &[name, tensor] : preloaded) {
    std::string shape;
    for (int64_t d : tensor.shape())
      shape += (shape.empty() ? "" : "x") + std::to_string(d);
    options.shapes.push_back(name + "=" + shape);
  }
  for (const auto &[param, value] : dims)
    options.dims.push_back(param + "=" + std::to_string(value));
  options.defaultDim = 1;
  mlir::PassManager pm(module.getContext());
  pm.addNestedPass<mlir::func::FuncOp>(
      bathy::createSpecializeShapesPass(options));
  return mlir::failed(pm.run(module)) ? 1 : 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // libMLIR already registers a hidden `--threads` option, so bathy-run
  // takes its own --threads=N off the command line before LLVM parses it.
  int threads = 0;
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (i > 0 &&
        (arg.consume_front("--threads") || arg.consume_front("-threads"))) {
      if (arg.empty() && i + 1 < argc)
        arg = argv[++i];
      else if (arg.empty())
        return fail("--threads expects a value");
      else if (!arg.consume_front("="))
        return fail("unknown option '" + std::string(argv[i]) + "'");
      if (!llvm::to_integer(arg, threads) || threads < 0 || threads > 1024)
        return fail("--threads expects 0 <= N <= 1024 (0: all hardware "
                    "threads), got '" +
                    arg.str() + "'");
      continue;
    }
    args.push_back(argv[i]);
  }
  argc = static_cast<int>(args.size());
  argv = args.data();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "bathy-run: imports an ONNX model, compiles it in process for the CPU "
      "and runs it.\n\n"
      "  bathy-run model.onnx --input=x=x.npy --output-dir=out\n"
      "  bathy-run model.onnx --dim=batch=8 --benchmark=20 --threads=2\n\n"
      "  --threads=N  threads the CPU kernels use (default 0: all hardware "
      "threads)\n");
  if (device != "cpu")
    return fail("device '" + device +
                "' is not available; bathy-run runs on "
                "the cpu");

  bathy_rt_set_num_threads(threads);

  mlir::DialectRegistry registry;
  bathy::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  bathy::ToolDiagnosticHandler diagnostics(&context, llvm::errs());

  auto compileStart = std::chrono::steady_clock::now();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      bathy::importOnnxFile(modelPath, &context);
  if (!module)
    return 1;
  std::map<std::string, int64_t> dims;
  for (const std::string &arg : dimArgs) {
    size_t eq = arg.find('=');
    int64_t value = -1;
    if (eq == std::string::npos ||
        !llvm::to_integer(llvm::StringRef(arg).substr(eq + 1), value) ||
        value < 0)
      return fail("--dim expects NAME=VALUE with VALUE >= 0, got '" + arg +
                  "'");
    dims[arg.substr(0, eq)] = value;
  }
  std::map<std::string, std::string> files; // --input NAME -> path
  for (const std::string &arg : inputArgs) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail("--input expects NAME=path.npy, got '" + arg + "'");
    files[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  // With --static-shapes the input files are read before compiling (their
  // shapes are the ones compiled for) and kept for the run.
  std::map<std::string, bathy::rt::HostTensor> preloaded;
  if (staticShapes) {
    for (const auto &[name, path] : files) {
      absl::StatusOr<bathy::rt::HostTensor> t = bathy::rt::ReadNpy(path);
      if (!t.ok())
        return fail(std::string(t.status().message()));
      preloaded.emplace(name, std::move(*t));
    }
    if (int rc = specializeInputs(*module, preloaded, dims))
      return rc;
  }
  bathy::PipelineOptions pipelineOptions;
  pipelineOptions.fusion = !noFusion;
  pipelineOptions.parallelLoops = !serialLoops;
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
  mlir::FailureOr<std::unique_ptr<bathy::JitModel>> model =
      bathy::JitModel::compile(*module, jitOptions);
  if (mlir::failed(model))
    return 1;
  double compileSeconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - compileStart)
                              .count();
  if (printPlan) {
    llvm::outs() << (*model)->plan().ToString();
    return 0;
  }
  const auto &specs = (*model)->inputs();

  // Inputs: named files, else seeded random data of the declared shapes.
  for (const auto &[name, path] : files)
    if (std::none_of(
            specs.begin(), specs.end(),
            [&](const bathy::TensorSpec &s) { return s.name == name; }))
      return fail("the model has no input named '" + name + "'");
  std::mt19937 rng(seed);
  std::vector<bathy::rt::HostTensor> inputs;
  for (const bathy::TensorSpec &spec : specs) {
    auto early = preloaded.find(spec.name);
    if (early != preloaded.end()) {
      inputs.push_back(std::move(early->second));
      continue;
    }
    auto file = files.find(spec.name);
    if (file != files.end()) {
      absl::StatusOr<bathy::rt::HostTensor> t =
          bathy::rt::ReadNpy(file->second);
      if (!t.ok())
        return fail(std::string(t.status().message()));
      inputs.push_back(std::move(*t));
      continue;
    }
    if (!inputArgs.empty())
      return fail("missing input '" + spec.name +
                  "' (give --input=" + spec.name + "=FILE.npy)");
    std::vector<int64_t> shape;
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      int64_t size = spec.shape[d];
      if (size < 0) {
        auto it = dims.find(spec.dimParams[d]);
        size = it != dims.end() ? it->second : 1;
      }
      shape.push_back(size);
    }
    absl::StatusOr<bathy::rt::HostTensor> t =
        bathy::rt::HostTensor::Create(spec.dtype, shape);
    if (!t.ok())
      return fail(std::string(t.status().message()));
    randomFill(*t, rng);
    inputs.push_back(std::move(*t));
  }

  absl::StatusOr<std::vector<bathy::rt::HostTensor>> outputs =
      (*model)->run(inputs);
  if (!outputs.ok())
    return fail(std::string(outputs.status().message()));

  if (!outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(outputDir.getValue(), ec);
    if (ec)
      return fail("cannot create '" + outputDir + "': " + ec.message());
  }
  for (size_t i = 0; i < outputs->size(); ++i) {
    const bathy::TensorSpec &spec = (*model)->outputs()[i];
    const bathy::rt::HostTensor &t = (*outputs)[i];
    llvm::outs() << "output '" << spec.name
                 << "': " << std::string(bathy::rt::DTypeName(t.dtype())) << " "
                 << bathy::rt::ShapeToString(t.shape()) << "\n";
    if (outputDir.empty())
      continue;
    std::string path =
        (std::filesystem::path(outputDir.getValue()) / fileNameFor(spec.name))
            .string();
    if (absl::Status s = bathy::rt::WriteNpy(path, t); !s.ok())
      return fail(std::string(s.message()));
  }

  if (benchStdin) {
    // One line per command, so the harness can alternate between systems
    // that each keep their own process (and peak memory).
    llvm::outs() << llvm::format("ready %.6f\n", compileSeconds);
    llvm::outs().flush();
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "quit")
        break;
      unsigned runs = 0;
      llvm::StringRef cmd(line);
      if (!cmd.consume_front("run ") || !llvm::to_integer(cmd.trim(), runs))
        return fail("--bench-stdin expects 'run N' or 'quit', got '" + line +
                    "'");
      llvm::outs() << "times";
      for (unsigned i = 0; i < runs; ++i) {
        auto start = std::chrono::steady_clock::now();
        absl::StatusOr<std::vector<bathy::rt::HostTensor>> r =
            (*model)->run(inputs);
        if (!r.ok())
          return fail(std::string(r.status().message()));
        llvm::outs() << llvm::format(
            " %.6f", std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count());
      }
      llvm::outs() << "\n";
      llvm::outs().flush();
    }
    return 0;
  }

  if (benchmark > 0) {
    std::vector<double> ms;
    for (unsigned i = 0; i < benchmark; ++i) {
      auto start = std::chrono::steady_clock::now();
      absl::StatusOr<std::vector<bathy::rt::HostTensor>> r =
          (*model)->run(inputs);
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count());
      if (!r.ok())
        return fail(std::string(r.status().message()));
    }
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    double p90 = ms[std::min(ms.size() - 1, (ms.size() * 9) / 10)];
    llvm::outs() << llvm::format(
        "compile: %.3f s, run: median %.3f ms, p90 %.3f ms over %u runs\n",
        compileSeconds, median, p90, benchmark.getValue());
  }
  return 0;
}
