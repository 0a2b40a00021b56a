//===- Compile.cpp - bathyc as a library ----------------------------------===//
#include "bathy/Tools/Compile.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <optional>
#include <set>

#include "bathy/Codegen/CPU/ExecutionPlan.h"
#include "bathy/Codegen/CPU/Pipelines.h"
#include "bathy/Codegen/CPU/SharedObject.h"
#include "bathy/Codegen/CUDA/Cuda.h"
#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "bathy/Passes/Passes.h"
#include "bathy/Support/Diagnostics.h"
#include "bathy/Support/ToolSupport.h"
#include "bathy/Tools/JitSession.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/artifact/artifact.h"
#include "runtime/file.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
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
cl::opt<std::string> target(
    "target", cl::init("cpu"),
    cl::desc("What the code runs on: cpu (a .bathy artifact), or cuda (CUDA "
             "C++ compiled by NVRTC: -o model.cu writes the source, and "
             "beside it a CUBIN per --cuda-arch and PTX for newer GPUs)"),
    cl::cat(category));
cl::opt<std::string> cudaArch(
    "cuda-arch", cl::init("sm_80,sm_90"),
    cl::desc("With --target=cuda: the GPU architectures to compile CUBINs "
             "for, comma-separated (sm_80: A100, sm_90: H100/H200); PTX for "
             "the newest is added so later GPUs can JIT it"),
    cl::value_desc("sm_XY,..."), cl::cat(category));
cl::opt<unsigned> maxSpillBytes(
    "max-spill-bytes", cl::init(0),
    cl::desc("With --target=cuda: a kernel whose registers spill more bytes "
             "than this (stores or loads, as ptxas reports them) is an error"),
    cl::value_desc("N"), cl::cat(category));
cl::opt<bool> cudaReport(
    "cuda-report",
    cl::desc("With --target=cuda: print each kernel's registers and spills "
             "per architecture"),
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
cl::opt<std::string> bucketsArg(
    "buckets",
    cl::desc("Besides the generic plan, compile one plan per bucket: the "
             "cross product of each dim's sizes, e.g. "
             "'batch:1,2,4,8;seq:pow2:16..512' (pow2:A..B: the powers of two "
             "from A to B). A request of a bucket's exact sizes runs on it; "
             "with --pad, a smaller one runs padded on the smallest bucket "
             "that holds it; others run on the generic plan"),
    cl::value_desc("DIM:SIZES;..."), cl::cat(category));
cl::opt<std::string> bucketsFile(
    "buckets-file",
    cl::desc("The buckets and padding rules as a file: lines 'DIM: SIZES' "
             "and 'pad: RULE' ('#' starts a comment)"),
    cl::value_desc("FILE"), cl::cat(category));
cl::list<std::string> padArgs(
    "pad",
    cl::desc("The model may be padded along DIM (repeatable): inputs with "
             "DIM padded with V (default 0), the mask INPUT with its own "
             "value (default 0), outputs cut back. Only the model's author "
             "knows this holds (an attention mask, a causal model padded at "
             "the end); it is recorded in the artifact"),
    cl::value_desc("DIM[:value=V][:mask=INPUT][:mask-value=V]"),
    cl::cat(category));
cl::opt<bool> quiet("quiet",
                    cl::desc("No progress messages on stderr (they are "
                             "shown when stderr is a terminal)"),
                    cl::cat(category));

int fail(const std::string &message) {
  llvm::errs() << "error: " << message << "\n";
  return 1;
}

/// The most buckets one artifact may hold.
constexpr size_t kMaxBuckets = 64;

/// "1,2,4,8" or "pow2:16..512" as sizes; an error message on failure.
std::optional<std::string> parseSizes(llvm::StringRef text,
                                      std::vector<int64_t> &sizes) {
  text = text.trim();
  if (text.consume_front("pow2:")) {
    auto [lo, hi] = text.split("..");
    int64_t a = 0, b = 0;
    if (lo.trim().getAsInteger(10, a) || hi.trim().getAsInteger(10, b) ||
        a < 1 || b < a || b > (int64_t{1} << 40))
      return "'pow2:" + text.str() + "' is not pow2:A..B with 1 <= A <= B";
    int64_t p = 1;
    while (p < a)
      p *= 2;
    for (; p <= b; p *= 2)
      sizes.push_back(p);
    if (sizes.empty())
      return "'pow2:" + text.str() + "' holds no power of two";
    return std::nullopt;
  }
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',', -1, false);
  for (llvm::StringRef part : parts) {
    int64_t v = 0;
    if (part.trim().getAsInteger(10, v) || v < 1 || v > (int64_t{1} << 40))
      return "'" + part.str() + "' is not a size >= 1";
    sizes.push_back(v);
  }
  if (sizes.empty())
    return "'" + text.str() + "' lists no size";
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return std::nullopt;
}

/// One dim's sizes, "DIM:SIZES" (or "DIM: SIZES" in a file).
std::optional<std::string>
parseBucketDim(llvm::StringRef entry,
               std::vector<std::pair<std::string, std::vector<int64_t>>> &dims) {
  auto [dim, sizes] = entry.split(':');
  dim = dim.trim();
  if (dim.empty() || sizes.trim().empty())
    return "'" + entry.str() + "' is not DIM:SIZES";
  for (const auto &d : dims)
    if (d.first == dim)
      return "dim '" + dim.str() + "' is bucketed twice";
  std::vector<int64_t> values;
  if (std::optional<std::string> e = parseSizes(sizes, values))
    return "dim '" + dim.str() + "': " + *e;
  dims.emplace_back(dim.str(), std::move(values));
  return std::nullopt;
}

} // namespace

/// --target=cuda: the source, a CUBIN per architecture and PTX for the
/// newest, written beside -o; the kernels' registers and spills checked.
int compileCuda(mlir::ModuleOp module, const bathy::PipelineOptions &pipeline,
                bathy::Progress &progress) {
  std::vector<std::string> archs;
  std::string newest;
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(cudaArch).split(parts, ',', -1, false);
  for (llvm::StringRef a : parts) {
    a = a.trim();
    unsigned version = 0;
    if (!a.consume_front("sm_") || a.getAsInteger(10, version) || version < 50)
      return fail("--cuda-arch: '" + a.str() +
                  "' is not an architecture bathy compiles for (sm_50 or "
                  "newer, e.g. sm_80,sm_90)");
    archs.push_back("sm_" + std::to_string(version));
    if (newest.empty() || version > std::stoul(newest))
      newest = std::to_string(version);
  }
  if (archs.empty())
    return fail("--cuda-arch names no architecture");
  archs.push_back("compute_" + newest);
  bathy::CudaCompileOptions options;
  options.pipeline = pipeline;
  options.releaseWeightBlobs = true;
  options.progress = [&](llvm::StringRef what) { progress(what); };
  mlir::FailureOr<bathy::CudaCompiledModel> compiled =
      bathy::compileForCuda(module, options);
  if (mlir::failed(compiled))
    return 1;
  progress("NVRTC: " + std::to_string(archs.size()) + " targets");
  llvm::Expected<bathy::CudaBinaries> binaries =
      bathy::compileCudaBinaries(*compiled, archs, "kernels");
  if (!binaries)
    return fail(llvm::toString(binaries.takeError()));
  int spilling = 0;
  for (const auto &[arch, kernels] : binaries->resources)
    for (const bathy::KernelResources &k : kernels) {
      if (cudaReport)
        llvm::outs() << arch << " " << k.kernel << ": " << k.registers
                     << " registers, " << k.spillStores
                     << " bytes spill stores, " << k.spillLoads
                     << " bytes spill loads, " << k.stackFrame
                     << " bytes stack\n";
      if (k.spillStores > static_cast<int>(maxSpillBytes) ||
          k.spillLoads > static_cast<int>(maxSpillBytes)) {
        llvm::errs() << "error: kernel " << k.kernel << " spills "
                     << std::max(k.spillStores, k.spillLoads) << " bytes on "
                     << arch << " (--max-spill-bytes=" << maxSpillBytes
                     << ")\n";
        ++spilling;
      }
    }
  if (spilling)
    return 1;
  if (!outputPath.empty()) {
    llvm::StringRef out(outputPath);
    std::string stem = out.ends_with(".cu") ? out.drop_back(3).str() : out.str();
    auto write = [&](const std::string &path, llvm::StringRef bytes) {
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      if (ec)
        return fail("cannot write " + path + ": " + ec.message()), false;
      os << bytes;
      os.close();
      if (os.has_error())
        return fail("cannot write " + path + ": " + os.error().message()),
               false;
      llvm::outs() << "wrote " << path << "\n";
      return true;
    };
    // The header the source includes, beside it.
    llvm::SmallString<256> header(llvm::sys::path::parent_path(outputPath));
    llvm::sys::path::append(header, bathy::kCudaPreludeName);
    if (!write(outputPath, compiled->source) ||
        !write(std::string(header), bathy::cudaPrelude()))
      return 1;
    for (const bathy::NvrtcResult &b : binaries->binaries) {
      bool ptx = llvm::StringRef(b.arch).starts_with("compute_");
      if (!write(stem + "." + b.arch + (ptx ? ".ptx" : ".cubin"), b.binary))
        return 1;
    }
  }
  size_t globals = binaries->resources.empty()
                       ? 0
                       : binaries->resources.front().second.size();
  llvm::outs() << "CUDA: " << compiled->plan.kernels.size()
               << " kernel functions (" << globals
               << " __global__ kernels) compiled for " << cudaArch
               << " and PTX (NVRTC)\n";
  return 0;
}

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
  bool cuda = target == "cuda";
  if (target != "cpu" && !cuda)
    return fail("--target expects cpu or cuda, got '" + target + "'");
  if (!cuda)
    for (const cl::Option *o :
         std::initializer_list<const cl::Option *>{&cudaArch, &maxSpillBytes,
                                                   &cudaReport})
      if (o->getNumOccurrences())
        return fail("--" + o->ArgStr.str() + " applies to --target=cuda");
  if (cuda) {
    for (const cl::Option *o : std::initializer_list<const cl::Option *>{
             &bucketsArg, &bucketsFile, &signKey, &compileTo, &checkBounds})
      if (o->getNumOccurrences())
        return fail("--" + o->ArgStr.str() +
                    " is not supported with --target=cuda yet");
    if (llvm::StringRef(outputPath).ends_with(".bathy"))
      return fail("--target=cuda writes CUDA C++ and its binaries (-o "
                  "model.cu); .bathy artifacts hold CPU code only so far");
  }
  if (optLevel > 3)
    return fail("--opt-level expects 0 to 3");
  if (!compileTo.getNumOccurrences() && outputPath.empty() &&
      target != "cuda")
    return fail("no output file: give -o model.bathy (or --compile-to=PHASE "
                "to print the IR)");
  if (dimArgs.getNumOccurrences() && !staticShapes)
    return fail("--dim sizes a dim for --static-shapes; without it the "
                "artifact serves every size");
  // Buckets and padding rules, from the flags and the file.
  std::vector<std::pair<std::string, std::vector<int64_t>>> bucketDims;
  std::vector<bathy::rt::PadRule> padRules;
  std::vector<std::string> padTexts(padArgs.begin(), padArgs.end());
  if (!bucketsArg.empty()) {
    llvm::SmallVector<llvm::StringRef> entries;
    llvm::StringRef(bucketsArg).split(entries, ';', -1, false);
    for (llvm::StringRef e : entries)
      if (std::optional<std::string> error = parseBucketDim(e, bucketDims))
        return fail("--buckets: " + *error);
  }
  if (!bucketsFile.empty()) {
    absl::StatusOr<std::string> text =
        bathy::rt::ReadRegularFile(bucketsFile, 1 << 20);
    if (!text.ok())
      return fail("--buckets-file: " + std::string(text.status().message()));
    llvm::SmallVector<llvm::StringRef> lines;
    llvm::StringRef(*text).split(lines, '\n');
    for (size_t i = 0; i < lines.size(); ++i) {
      llvm::StringRef line = lines[i].split('#').first.trim();
      if (line.empty())
        continue;
      std::string where = bucketsFile + ":" + std::to_string(i + 1) + ": ";
      if (line.consume_front("pad:")) {
        padTexts.push_back(line.trim().str());
        continue;
      }
      if (std::optional<std::string> error = parseBucketDim(line, bucketDims))
        return fail(where + *error);
    }
  }
  for (const std::string &t : padTexts) {
    absl::StatusOr<bathy::rt::PadRule> rule = bathy::rt::ParsePadRule(t);
    if (!rule.ok())
      return fail(std::string(rule.status().message()));
    padRules.push_back(std::move(*rule));
  }
  size_t bucketCount = bucketDims.empty() ? 0 : 1;
  for (const auto &[dim, sizes] : bucketDims)
    bucketCount *= sizes.size();
  if (bucketCount > kMaxBuckets)
    return fail("--buckets: " + std::to_string(bucketCount) +
                " buckets (the product of the sizes per dim); an artifact holds "
                "at most " +
                std::to_string(kMaxBuckets));
  if (bucketCount && staticShapes)
    return fail("--buckets adds plans to the generic one; --static-shapes "
                "compiles one shape only");
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
  mlir::OwningOpRef<mlir::ModuleOp> module =
      bathy::importModel(modelPath, &context);
  if (!module)
    return 1;
  // The model's bytes (and its external data's) identify it in the
  // manifest.
  absl::StatusOr<std::string> identity = bathy::modelIdentity(modelPath);
  if (!identity.ok())
    return fail(std::string(identity.status().message()));
  std::string modelSha = *identity;
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

  if (cuda)
    return compileCuda(*module, pipeline, progress);

  bathy::CpuCompileOptions options;
  options.cpu = cpu;
  options.optLevel = optLevel;
  options.pipeline = pipeline;
  options.progress = [&](llvm::StringRef what) { progress(what); };

  // The buckets: every combination of the dims' sizes, each dim a dynamic
  // dim_param of the inputs; padding rules name such dims and inputs.
  auto mainFunc = module->lookupSymbol<mlir::func::FuncOp>("main");
  if (!mainFunc)
    return fail("the model has no main function");
  mlir::FailureOr<std::vector<bathy::rt::TensorSpec>> specs =
      bathy::inputSpecsOf(mainFunc);
  if (mlir::failed(specs))
    return 1;
  std::set<std::string> params = bathy::rt::DynamicDimNames(*specs), inputNames;
  for (const bathy::rt::TensorSpec &s : *specs)
    inputNames.insert(s.name);
  auto listParams = [&] {
    std::string out;
    for (const std::string &p : params)
      out += (out.empty() ? "" : ", ") + p;
    return out.empty() ? std::string("(none)") : out;
  };
  for (const auto &[dim, sizes] : bucketDims)
    if (!params.count(dim))
      return fail("--buckets: the model has no dynamic dim named '" + dim +
                  "'; its dynamic dims are: " + listParams());
  for (const bathy::rt::PadRule &r : padRules) {
    if (!params.count(r.dim))
      return fail("--pad: the model has no dynamic dim named '" + r.dim +
                  "'; its dynamic dims are: " + listParams());
    if (!r.mask_input.empty() && !inputNames.count(r.mask_input))
      return fail("--pad: the model has no input named '" + r.mask_input +
                  "' (the mask of " + r.dim + ")");
  }
  std::vector<std::vector<std::pair<std::string, int64_t>>> buckets;
  if (!bucketDims.empty()) {
    buckets.push_back({});
    for (const auto &[dim, sizes] : bucketDims) {
      std::vector<std::vector<std::pair<std::string, int64_t>>> next;
      for (const auto &b : buckets)
        for (int64_t size : sizes) {
          next.push_back(b);
          next.back().emplace_back(dim, size);
        }
      buckets = std::move(next);
    }
  }

  // The generic plan first (its weights stay in the context while buckets
  // are compiled from copies of the module), then each bucket.
  std::vector<mlir::OwningOpRef<mlir::ModuleOp>> copies;
  for (size_t i = 0; i < buckets.size(); ++i)
    copies.push_back(module->clone());
  options.releaseWeightBlobs = buckets.empty();
  mlir::FailureOr<bathy::CpuCompiledModel> compiled =
      bathy::compileForCpu(*module, options);
  if (mlir::failed(compiled))
    return 1;
  std::vector<bathy::CpuCompiledModel> bucketModels;
  std::unique_ptr<bathy::rt::ConstantPool> pool;
  if (!buckets.empty())
    pool = std::make_unique<bathy::rt::ConstantPool>(compiled->plan);
  for (size_t i = 0; i < buckets.size(); ++i) {
    std::string what = "bucket " + std::to_string(i + 1) + " of " +
                       std::to_string(buckets.size()) + " (" +
                       bathy::rt::ShapeSignature{buckets[i]}.ToString() + ")";
    progress(what);
    bathy::GraphSpecializeShapesPassOptions specialize;
    for (const auto &[name, size] : buckets[i])
      specialize.dims.push_back(name + "=" + std::to_string(size));
    mlir::PassManager pm(&context);
    pm.addNestedPass<mlir::func::FuncOp>(
        bathy::createGraphSpecializeShapesPass(specialize));
    if (mlir::failed(pm.run(*copies[i])))
      return fail(what + " does not specialise (see above)");
    bathy::CpuCompileOptions bucketOptions = options;
    bucketOptions.releaseWeightBlobs = i + 1 == buckets.size();
    bucketOptions.progress = nullptr;
    mlir::FailureOr<bathy::CpuCompiledModel> b =
        bathy::compileForCpu(*copies[i], bucketOptions);
    if (mlir::failed(b))
      return fail(what + " does not compile (see above)");
    copies[i] = nullptr;
    // Its weights are the generic plan's (one copy in memory and in the
    // file).
    pool->Share(b->plan);
    bucketModels.push_back(std::move(*b));
  }

  std::vector<std::pair<std::string, std::string>> opts =
      bathy::codeOptions(options);
  opts.push_back({"static-shapes", staticShapes ? "on" : "off"});
  for (const std::string &d : dimArgs)
    opts.push_back({"dim", d});
  if (!bucketDims.empty()) {
    std::string text;
    for (const auto &[dim, sizes] : bucketDims) {
      text += (text.empty() ? "" : ";") + dim + ":";
      for (size_t k = 0; k < sizes.size(); ++k)
        text += (k ? "," : "") + std::to_string(sizes[k]);
    }
    opts.push_back({"buckets", text});
  }
  bathy::rt::ArtifactContents contents;
  contents.manifest = bathy::manifestFor(*compiled, modelPath, modelSha,
                                         producer, std::move(opts));
  contents.manifest.pad = padRules;
  contents.plans = {&compiled->plan};
  contents.code = {std::move(compiled->sharedObject)};
  for (size_t i = 0; i < bucketModels.size(); ++i) {
    contents.manifest.buckets.push_back(
        {static_cast<uint32_t>(i + 1), buckets[i]});
    contents.plans.push_back(&bucketModels[i].plan);
    contents.code.push_back(std::move(bucketModels[i].sharedObject));
  }
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
  size_t codeBytes = 0;
  for (const std::string &c : contents.code)
    codeBytes += c.size();
  llvm::outs() << "wrote " << outputPath << ": "
               << compiled->plan.kernels.size() << " kernels for "
               << compiled->cpu;
  if (!bucketModels.empty())
    llvm::outs() << ", " << bucketModels.size() << " buckets";
  llvm::outs() << ", "
               << llvm::format("%.1f", artifact->size() / 1048576.0)
               << " MiB (code " << llvm::format("%.1f", codeBytes / 1048576.0)
               << " MiB), in " << llvm::format("%.1f", progress.seconds())
               << " s\n";
  return 0;
}
