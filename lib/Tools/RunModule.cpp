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

/// float -> IEEE half / bfloat16 bits (round to nearest even).
uint16_t toHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0)
    return static_cast<uint16_t>(sign); // tiny values flush to zero
  if (exp >= 31)
    return static_cast<uint16_t>(sign | 0x7c00);
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return static_cast<uint16_t>(h);
}
uint16_t toBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

/// Fills a tensor with seeded random values suited to its type: floats in
/// [-1, 1), integers in [0, 10), booleans.
void randomFill(HostTensor &t, std::mt19937 &rng) {
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
    case DType::kF16:
      t.data_as<uint16_t>()[i] = toHalf(real(rng));
      break;
    case DType::kBF16:
      t.data_as<uint16_t>()[i] = toBF16(real(rng));
      break;
    case DType::kI64:
    case DType::kU64:
      t.data_as<int64_t>()[i] = small(rng);
      break;
    case DType::kI32:
    case DType::kU32:
      t.data_as<int32_t>()[i] = small(rng);
      break;
    case DType::kI16:
    case DType::kU16:
      t.data_as<int16_t>()[i] = static_cast<int16_t>(small(rng));
      break;
    case DType::kBool:
      t.data_as<uint8_t>()[i] = small(rng) % 2;
      break;
    case DType::kI8:
    case DType::kU8:
      t.data_as<uint8_t>()[i] = static_cast<uint8_t>(small(rng));
      break;
    }
  }
}

/// File names for outputs: characters outside [A-Za-z0-9._-] become '_';
/// names that collide (a/b and a_b) get _1, _2, ... in output order.
std::vector<std::string> fileNamesFor(const std::vector<TensorSpec> &specs) {
  std::set<std::string> used;
  std::vector<std::string> names;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string base = specs[i].name;
    for (char &c : base)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' &&
          c != '_' && c != '.')
        c = '_';
    if (base.empty() || base == "." || base == "..")
      base = "output" + std::to_string(i);
    std::string name = base + ".npy";
    for (int k = 1; used.count(name); ++k)
      name = base + "_" + std::to_string(k) + ".npy";
    used.insert(name);
    names.push_back(name);
  }
  return names;
}

std::string listInputs(const std::vector<TensorSpec> &specs) {
  std::string out;
  for (const TensorSpec &s : specs)
    out += "\n  " + s.name + ": " + bathy::rt::SpecToString(s);
  return out.empty() ? " (none)" : out;
}

bool parseShape(llvm::StringRef text, std::vector<int64_t> &shape) {
  shape.clear();
  if (text.empty() || text == "scalar")
    return true; // rank 0
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, 'x');
  for (llvm::StringRef p : parts) {
    int64_t v;
    if (!llvm::to_integer(p, v, 10) || v < 0)
      return false;
    shape.push_back(v);
  }
  return true;
}

/// Progress on stderr while compiling, when it is a terminal (not --quiet).
class Progress {
public:
  explicit Progress(bool enabled)
      : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  void operator()(llvm::StringRef what) const {
    if (!enabled_)
      return;
    llvm::errs() << llvm::format("[%6.2fs] ",
                                 std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - start_)
                                     .count())
                 << what << "\n";
  }

private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

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

/// What the input flags say, parsed and read before anything is imported.
struct InputFlags {
  std::map<std::string, int64_t> dims;
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, HostTensor> files;
};

/// Parses --dim, --shape and --input (reading the files) and creates the
/// output folders; an error message on failure.
std::optional<std::string> parseInputFlags(InputFlags &flags) {
  auto &dims = flags.dims;
  auto &shapeFlags = flags.shapes;
  auto &files = flags.files;
  // Options about inputs, parsed before anything is imported.
  for (const std::string &arg : dimArgs) {
    size_t eq = arg.find('=');
    int64_t value = -1;
    if (eq == std::string::npos || eq == 0 ||
        !llvm::to_integer(llvm::StringRef(arg).substr(eq + 1), value, 10) ||
        value < 0)
      return std::string("--dim expects NAME=VALUE with VALUE >= 0, got '" +
                         arg + "'");
    if (!dims.emplace(arg.substr(0, eq), value).second)
      return std::string("--dim " + arg.substr(0, eq) + " is given twice");
  }
  for (const std::string &arg : shapeArgs) {
    size_t eq = arg.find('=');
    std::vector<int64_t> shape;
    if (eq == std::string::npos || eq == 0 ||
        !parseShape(llvm::StringRef(arg).substr(eq + 1), shape))
      return std::string(
          "--shape expects NAME=D0xD1x... with sizes >= 0, got '" + arg + "'");
    if (!shapeFlags.emplace(arg.substr(0, eq), shape).second)
      return std::string("--shape " + arg.substr(0, eq) + " is given twice");
  }
  // Input files are read now, before the (possibly long) compile.
  for (const std::string &arg : inputArgs) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      return std::string("--input expects NAME=path.npy, got '" + arg + "'");
    std::string name = arg.substr(0, eq);
    if (files.count(name))
      return std::string("--input " + name + " is given twice");
    if (shapeFlags.count(name))
      return std::string(
          "input '" + name +
          "' has both --input and --shape; its file fixes its shape");
    absl::StatusOr<HostTensor> t = bathy::rt::ReadNpy(arg.substr(eq + 1));
    if (!t.ok())
      return std::string("--input " + name + ": " +
                         std::string(t.status().message()));
    files.emplace(name, std::move(*t));
  }
  for (const std::string *dir :
       {&outputDir.getValue(), &saveInputs.getValue()}) {
    if (dir->empty())
      continue;
    std::error_code ec;
    std::filesystem::create_directories(*dir, ec);
    if (ec || !std::filesystem::is_directory(*dir))
      return std::string("cannot create the folder '" + *dir +
                         "': " + (ec ? ec.message() : "not a directory"));
  }

  return std::nullopt;
}

/// The shape of every input, in `specs` order; an error message on failure.
std::optional<std::string>
inputShapes(const std::vector<TensorSpec> &specs, const InputFlags &flags,
            std::vector<std::vector<int64_t>> &shapes) {
  const auto &dims = flags.dims;
  const auto &shapeFlags = flags.shapes;
  const auto &files = flags.files;
  // The shape of every input: its file's, its --shape, or its declared
  // shape with --dim values (1 for dims nothing sets). Files and --shape
  // must agree with the model's static dims and with --dim.
  for (const TensorSpec &s : specs) {
    std::vector<int64_t> shape;
    std::string from;
    if (auto f = files.find(s.name); f != files.end()) {
      shape = f->second.shape();
      from = "its file";
    } else if (auto sh = shapeFlags.find(s.name); sh != shapeFlags.end()) {
      shape = sh->second;
      from = "--shape";
    }
    if (!from.empty()) {
      if (shape.size() != s.shape.size())
        return std::string("input '" + s.name + "' has rank " +
                           std::to_string(s.shape.size()) + " (" +
                           bathy::rt::SpecToString(s) + ") but " + from +
                           " gives shape " + bathy::rt::ShapeToString(shape));
      for (size_t d = 0; d < shape.size(); ++d) {
        if (s.shape[d] >= 0 && shape[d] != s.shape[d])
          return std::string("input '" + s.name + "' dim " + std::to_string(d) +
                             " must be " + std::to_string(s.shape[d]) + " (" +
                             bathy::rt::SpecToString(s) + "), but " + from +
                             " gives " + std::to_string(shape[d]));
        const std::string &param = s.dim_params[d];
        if (s.shape[d] < 0 && !param.empty())
          if (auto it = dims.find(param);
              it != dims.end() && it->second != shape[d])
            return std::string(
                "--dim " + param + "=" + std::to_string(it->second) +
                " disagrees with input '" + s.name + "', whose " + from +
                " has " + param + " = " + std::to_string(shape[d]));
      }
    } else {
      for (size_t d = 0; d < s.shape.size(); ++d) {
        int64_t size = s.shape[d];
        if (size < 0) {
          auto it = dims.find(s.dim_params[d]);
          size = it != dims.end() ? it->second : 1;
        }
        shape.push_back(size);
      }
    }
    shapes.push_back(std::move(shape));
  }

  return std::nullopt;
}

/// The run's inputs: the files, else seeded random data of `shapes`; with
/// --save-inputs also written out. An error message on failure.
std::optional<std::string>
makeInputs(const std::vector<TensorSpec> &specs, InputFlags &flags,
           const std::vector<std::vector<int64_t>> &shapes,
           std::vector<HostTensor> &inputs) {
  auto &files = flags.files;
  // Inputs: the files, else seeded random data of the shapes found above.
  std::mt19937 rng(seed);
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    if (auto f = files.find(spec.name); f != files.end()) {
      inputs.push_back(std::move(f->second));
      continue;
    }
    absl::StatusOr<HostTensor> t = HostTensor::Create(spec.dtype, shapes[i]);
    if (!t.ok())
      return std::string("random input '" + spec.name +
                         "': " + std::string(t.status().message()));
    randomFill(*t, rng);
    inputs.push_back(std::move(*t));
  }
  if (!saveInputs.empty()) {
    std::vector<std::string> names = fileNamesFor(specs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string path =
          (std::filesystem::path(saveInputs.getValue()) / names[i]).string();
      if (absl::Status s = bathy::rt::WriteNpy(path, inputs[i]); !s.ok())
        return std::string(std::string(s.message()));
      llvm::outs() << "wrote input '" << specs[i].name << "' to " << path
                   << "\n";
    }
  }

  return std::nullopt;
}

/// Runs `model` `runs` times on `inputs`; the time of each run in ms.
absl::StatusOr<std::vector<double>>
timeRuns(const bathy::rt::CpuModel &model,
         const std::vector<HostTensor> &inputs, unsigned runs) {
  std::vector<double> ms;
  for (unsigned i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<HostTensor>> r = model.Run(inputs);
    if (!r.ok())
      return r.status();
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  return ms;
}

/// --bench-stdin: one line per command ("run N" prints the N times,
/// "quit"), so bench/ can alternate between systems that each keep their
/// own process (and peak memory).
int serveBenchStdin(const bathy::rt::CpuModel &model,
                    const std::vector<HostTensor> &inputs,
                    double compileSeconds) {
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
    absl::StatusOr<std::vector<double>> ms = timeRuns(model, inputs, runs);
    if (!ms.ok())
      return fail(std::string(ms.status().message()));
    llvm::outs() << "times";
    for (double t : *ms)
      llvm::outs() << llvm::format(" %.6f", t);
    llvm::outs() << "\n";
    llvm::outs().flush();
  }
  return 0;
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
      "bathy-run: imports an ONNX model, compiles it in process for the CPU "
      "and runs it.\n\n"
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

  InputFlags flags;
  if (std::optional<std::string> error = parseInputFlags(flags))
    return fail(*error);
  auto &dims = flags.dims;
  auto &shapeFlags = flags.shapes;
  auto &files = flags.files;

  mlir::DialectRegistry registry;
  bathy::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.printOpOnDiagnostic(debug);
  bathy::ToolDiagnosticHandler diagnostics(&context, llvm::errs());
  Progress progress(!quiet && isatty(STDERR_FILENO));

  auto compileStart = std::chrono::steady_clock::now();
  llvm::StringRef path(modelPath);
  // A .bathy artifact (bathyc's) is loaded, not compiled.
  std::unique_ptr<bathy::rt::CpuModel> loaded;
  std::unique_ptr<bathy::JitModel> jit;
  std::vector<TensorSpec> specs;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (path.ends_with(".bathy")) {
    const cl::Option *compileOptions[] = {&staticShapes,  &noFusion,
                                          &serialLoops,   &checkBounds,
                                          &explainFusion, &optLevel};
    for (const cl::Option *o : compileOptions)
      if (o->getNumOccurrences())
        return fail("--" + o->ArgStr.str() + " is a compile option; " +
                    modelPath + " was compiled by bathyc (give it to bathyc)");
    progress("loading " + modelPath);
    absl::StatusOr<std::unique_ptr<bathy::rt::CpuModel>> m =
        bathy::rt::CpuModel::Open(modelPath);
    if (!m.ok())
      return fail(std::string(m.status().message()));
    loaded = std::move(*m);
    specs = loaded->inputs();
  } else {
    progress("importing " + modelPath);
    // bathy IR as text or bytecode (what bathy-import writes), else ONNX.
    if (path.ends_with(".mlir") || path.ends_with(".mlirbc"))
      if (absl::StatusOr<bathy::rt::File> f =
              bathy::rt::OpenRegularFile(modelPath);
          !f.ok())
        return fail(std::string(f.status().message()));
    module = path.ends_with(".mlir") || path.ends_with(".mlirbc")
                 ? mlir::parseSourceFile<mlir::ModuleOp>(path, &context)
                 : bathy::importOnnxFile(modelPath, &context);
    if (!module)
      return 1;
    auto mainFunc = module->lookupSymbol<mlir::func::FuncOp>("main");
    if (!mainFunc)
      return fail("the model has no main function");
    mlir::FailureOr<std::vector<TensorSpec>> maybeSpecs =
        bathy::inputSpecsOf(mainFunc);
    if (mlir::failed(maybeSpecs))
      return 1;
    specs = *maybeSpecs;
  }

  if (!saveInputs.empty())
    for (const TensorSpec &s : specs)
      if (s.dtype == bathy::rt::DType::kBF16)
        return fail("--save-inputs: input '" + s.name +
                    "' is bf16, which .npy files cannot hold");
  // Every name the user gave must be one the model has.
  auto findSpec = [&](const std::string &name) -> const TensorSpec * {
    for (const TensorSpec &s : specs)
      if (s.name == name)
        return &s;
    return nullptr;
  };
  for (const auto &[name, tensor] : files)
    if (!findSpec(name))
      return fail("--input: the model has no input named '" + name +
                  "'; its inputs are:" + listInputs(specs));
  for (const auto &[name, shape] : shapeFlags)
    if (!findSpec(name))
      return fail("--shape: the model has no input named '" + name +
                  "'; its inputs are:" + listInputs(specs));
  std::set<std::string> params;
  for (const TensorSpec &s : specs)
    for (size_t d = 0; d < s.shape.size(); ++d)
      if (s.shape[d] < 0 && d < s.dim_params.size() && !s.dim_params[d].empty())
        params.insert(s.dim_params[d]);
  for (const auto &[name, value] : dims)
    if (!params.count(name)) {
      std::string valid;
      for (const std::string &p : params)
        valid += (valid.empty() ? "" : ", ") + p;
      return fail("--dim: the model has no dynamic dim named '" + name + "'; " +
                  (valid.empty() ? std::string("it has no named dynamic dims "
                                               "(use --shape)")
                                 : "its dim_params are: " + valid));
    }

  std::vector<std::vector<int64_t>> shapes;
  if (std::optional<std::string> error = inputShapes(specs, flags, shapes))
    return fail(*error);

  if (!loaded) {
    if (staticShapes) {
      progress("specialising for the inputs' shapes");
      if (int rc = specializeInputs(*module, specs, shapes))
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
    mlir::FailureOr<std::unique_ptr<bathy::JitModel>> compiled =
        bathy::JitModel::compile(*module, jitOptions);
    if (mlir::failed(compiled))
      return 1;
    jit = std::move(*compiled);
  }
  const bathy::rt::CpuModel &model = loaded ? *loaded : jit->model();
  double compileSeconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - compileStart)
                              .count();
  progress("compiled");
  if (printPlan) {
    llvm::outs() << model.plan().ToString();
    return 0;
  }

  std::vector<HostTensor> inputs;
  if (std::optional<std::string> error =
          makeInputs(specs, flags, shapes, inputs))
    return fail(*error);

  absl::StatusOr<std::vector<HostTensor>> outputs = model.Run(inputs);
  if (!outputs.ok())
    return fail(std::string(outputs.status().message()));

  std::vector<std::string> outputNames = fileNamesFor(model.outputs());
  for (size_t i = 0; i < outputs->size(); ++i) {
    const TensorSpec &spec = model.outputs()[i];
    const HostTensor &t = (*outputs)[i];
    llvm::outs() << "output '" << spec.name
                 << "': " << std::string(bathy::rt::DTypeName(t.dtype())) << " "
                 << bathy::rt::ShapeToString(t.shape());
    if (!outputDir.empty()) {
      std::string path =
          (std::filesystem::path(outputDir.getValue()) / outputNames[i])
              .string();
      if (absl::Status s = bathy::rt::WriteNpy(path, t); !s.ok())
        return fail(std::string(s.message()));
      llvm::outs() << " -> " << path;
    }
    llvm::outs() << "\n";
  }

  if (benchStdin)
    return serveBenchStdin(model, inputs, compileSeconds);
  if (benchmark > 0) {
    absl::StatusOr<std::vector<double>> r = timeRuns(model, inputs, benchmark);
    if (!r.ok())
      return fail(std::string(r.status().message()));
    std::vector<double> ms = std::move(*r);
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    double p90 = ms[std::min(ms.size() - 1, (ms.size() * 9) / 10)];
    llvm::outs() << llvm::format(
        "compile: %.3f s, run: median %.3f ms, p90 %.3f ms over %u runs\n",
        compileSeconds, median, p90, benchmark.getValue());
  }
  return 0;
}
