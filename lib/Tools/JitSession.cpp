//===- JitSession.cpp - What compiling in process adds to a session ------===//
#include "bathy/Tools/JitSession.h"

#include <filesystem>
#include <set>

#include "bathy/Importer/OnnxImporter.h"
#include "bathy/InitAll.h"
#include "bathy/Passes/Passes.h"
#include "bathy/Support/ToolSupport.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/file.h"
#include "llvm/ADT/StringRef.h"

namespace bathy {

namespace {

bool isMlirPath(llvm::StringRef path) {
  return path.ends_with(".mlir") || path.ends_with(".mlirbc");
}

/// The SHA-256 of a file's bytes, read in pieces (a model may be large).
absl::StatusOr<std::string> fileSha256(const std::string &path) {
  absl::StatusOr<std::string> bytes =
      rt::ReadRegularFile(path, uint64_t{1} << 40);
  if (!bytes.ok())
    return bytes.status();
  return rt::Sha256Hex(*bytes);
}

} // namespace

absl::StatusOr<std::string> modelIdentity(const std::string &path) {
  absl::StatusOr<std::string> bytes =
      rt::ReadRegularFile(path, uint64_t{1} << 40);
  if (!bytes.ok())
    return bytes.status();
  std::string identity = rt::Sha256Hex(*bytes);
  // Only an ONNX model that may name external data is parsed for it (the
  // key of every external-data entry is "location").
  if (isMlirPath(path) || bytes->find("location") == std::string::npos)
    return identity;
  bytes->clear();
  bytes->shrink_to_fit();
  mlir::MLIRContext context;
  std::string errors;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    errors += d.str() + "; ";
    return mlir::success();
  });
  mlir::FailureOr<std::vector<std::string>> files =
      externalDataFiles(path, &context);
  if (mlir::failed(files))
    return absl::InvalidArgumentError(path + ": " + errors);
  std::vector<std::pair<std::string, std::string>> parts = {{"model", identity}};
  for (const std::string &f : *files) {
    absl::StatusOr<std::string> sha = fileSha256(f);
    // A file the import would refuse is the import's error to report.
    parts.emplace_back(std::filesystem::path(f).filename().string(),
                       sha.ok() ? *sha : "unreadable");
  }
  return rt::CacheKey(parts);
}

mlir::OwningOpRef<mlir::ModuleOp> importModel(const std::string &path,
                                              mlir::MLIRContext *context) {
  if (!isMlirPath(path))
    return importOnnxFile(path, context);
  absl::StatusOr<std::string> text = rt::ReadRegularFile(path, uint64_t{1} << 40);
  if (!text.ok()) {
    mlir::emitError(mlir::UnknownLoc::get(context),
                    std::string(text.status().message()));
    return nullptr;
  }
  return mlir::parseSourceString<mlir::ModuleOp>(*text, context);
}

mlir::LogicalResult
specializeForShapes(mlir::ModuleOp module,
                    const std::vector<rt::TensorSpec> &specs,
                    const std::vector<std::vector<int64_t>> &shapes) {
  GraphSpecializeShapesPassOptions options;
  for (size_t i = 0; i < specs.size() && i < shapes.size(); ++i) {
    if (shapes[i].empty())
      continue; // rank 0: nothing to specialise
    std::string shape;
    for (int64_t d : shapes[i])
      shape += (shape.empty() ? "" : "x") + std::to_string(d);
    options.shapes.push_back(specs[i].name + "=" + shape);
  }
  options.defaultDim = 1;
  mlir::PassManager pm(module.getContext());
  pm.addNestedPass<mlir::func::FuncOp>(createGraphSpecializeShapesPass(options));
  return pm.run(module);
}

std::vector<std::pair<std::string, std::string>>
codeOptions(const CpuCompileOptions &o) {
  return {{"cpu", o.cpu},
          {"opt-level", std::to_string(o.optLevel)},
          {"fusion", o.pipeline.fusion ? "on" : "off"},
          {"parallel-loops", o.pipeline.parallelLoops ? "on" : "off"},
          {"check-bounds", o.pipeline.boundsChecks ? "on" : "off"}};
}

std::string compileCacheKey(const std::string &identity,
                            const CpuCompileOptions &options,
                            const std::string &shapes) {
  std::vector<std::pair<std::string, std::string>> parts = {
      {"compiler", versionString()},
      {"build", rt::ExecutableBuildId()},
      {"model", identity},
      {"shapes", shapes},
      {"target", "cpu " + targetCpuIdentity(options.cpu)}};
  for (auto &kv : codeOptions(options))
    parts.push_back(std::move(kv));
  return rt::CacheKey(parts);
}

std::string shapesText(const std::vector<rt::TensorSpec> &specs,
                       const std::vector<std::vector<int64_t>> &shapes) {
  std::string out;
  for (size_t i = 0; i < specs.size() && i < shapes.size(); ++i) {
    out += (out.empty() ? "" : " ") + specs[i].name + "=";
    std::string dims;
    for (int64_t d : shapes[i])
      dims += (dims.empty() ? "" : "x") + std::to_string(d);
    out += dims.empty() ? "scalar" : dims;
  }
  return out;
}

rt::Manifest
manifestFor(const CpuCompiledModel &compiled, const std::string &modelPath,
            const std::string &modelSha, const std::string &producer,
            std::vector<std::pair<std::string, std::string>> options) {
  rt::Manifest m;
  m.compiler_version = versionString();
  m.target = "cpu";
  m.cpu = compiled.cpu;
  m.cpu_features = compiled.cpuFeatures;
  m.inputs = compiled.plan.input_specs;
  m.outputs = compiled.plan.output_specs;
  m.model_sha256 = modelSha;
  m.model_producer = producer;
  m.model_file = std::filesystem::path(modelPath).filename().string();
  m.options = std::move(options);
  // Each kernel and the ONNX nodes of the launches that run it.
  const rt::Plan &plan = compiled.plan;
  std::vector<std::set<std::string>> nodes(plan.kernels.size());
  for (const rt::Plan::Step &step : plan.steps) {
    llvm::SmallVector<llvm::StringRef> names;
    llvm::StringRef(step.nodes).split(names, ", ", -1, false);
    for (llvm::StringRef n : names)
      nodes[step.kernel].insert(n.str());
  }
  for (size_t k = 0; k < plan.kernels.size(); ++k)
    m.kernels.push_back({plan.kernels[k], {nodes[k].begin(), nodes[k].end()}});
  return m;
}

absl::Status
storeCompiled(const rt::CompileCache &cache, const std::string &key,
              const CpuCompiledModel &compiled, const std::string &modelPath,
              const std::string &identity, const std::string &producer,
              std::vector<std::pair<std::string, std::string>> options) {
  rt::ArtifactContents contents;
  contents.manifest = manifestFor(compiled, modelPath, identity, producer,
                                  std::move(options));
  contents.plans = {&compiled.plan};
  contents.code = {compiled.sharedObject};
  absl::StatusOr<std::string> bytes = rt::SerializeArtifact(contents);
  return bytes.ok() ? cache.Insert(key, *bytes) : bytes.status();
}

namespace {

class JitSpecializer : public rt::Specializer {
public:
  JitSpecializer(std::string path, std::string identity,
                 std::vector<rt::TensorSpec> specs, CpuCompileOptions options,
                 std::optional<rt::CompileCache> cache,
                 std::function<void(const std::string &)> log)
      : path_(std::move(path)), identity_(std::move(identity)),
        specs_(std::move(specs)), options_(std::move(options)),
        cache_(std::move(cache)), log_(std::move(log)) {
    options_.progress = nullptr;
    options_.releaseWeightBlobs = true;
  }

  absl::StatusOr<rt::Specialization>
  Specialize(const rt::ShapeSignature &signature,
             const std::vector<std::vector<int64_t>> &shapes) override {
    std::string shapeKey = shapesText(specs_, shapes);
    std::string key = compileCacheKey(identity_, options_, shapeKey);
    if (cache_) {
      std::string note;
      std::shared_ptr<const rt::Artifact> entry = cache_->Lookup(key, &note);
      if (!note.empty() && log_)
        log_(note);
      if (entry && entry->num_plans() == 1) {
        rt::Specialization s;
        s.plan = entry->plan(0);
        s.code = std::string(entry->code(0));
        s.keep = std::move(entry);
        s.cache_hit = true;
        return s;
      }
    }
    mlir::DialectRegistry registry;
    registerAllDialects(registry);
    mlir::MLIRContext context(registry);
    std::string errors;
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
        errors += (errors.empty() ? "" : "; ") + d.str();
      return mlir::success();
    });
    auto fail = [&]() {
      return absl::InternalError(errors.empty() ? "the compile failed" : errors);
    };
    mlir::OwningOpRef<mlir::ModuleOp> module = importModel(path_, &context);
    if (!module)
      return fail();
    std::string producer;
    if (auto p = (*module)->getAttrOfType<mlir::StringAttr>("bathy.producer"))
      producer = p.str();
    if (mlir::failed(specializeForShapes(*module, specs_, shapes)))
      return fail();
    mlir::FailureOr<CpuCompiledModel> compiled =
        compileForCpu(*module, options_);
    if (mlir::failed(compiled))
      return fail();
    if (cache_) {
      std::vector<std::pair<std::string, std::string>> opts =
          codeOptions(options_);
      opts.push_back({"shape", shapeKey});
      absl::Status stored = storeCompiled(*cache_, key, *compiled, path_,
                                          identity_, producer, std::move(opts));
      if (!stored.ok() && log_)
        log_("the compile cache keeps no copy of the specialisation for " +
             signature.ToString() + ": " + std::string(stored.message()));
    }
    rt::Specialization s;
    s.plan = std::move(compiled->plan);
    s.code = std::move(compiled->sharedObject);
    return s;
  }

private:
  std::string path_, identity_;
  std::vector<rt::TensorSpec> specs_;
  CpuCompileOptions options_;
  std::optional<rt::CompileCache> cache_;
  std::function<void(const std::string &)> log_;
};

} // namespace

std::unique_ptr<rt::Specializer>
createJitSpecializer(std::string path, std::string identity,
                     std::vector<rt::TensorSpec> specs,
                     CpuCompileOptions options,
                     std::optional<rt::CompileCache> cache,
                     std::function<void(const std::string &)> log) {
  return std::make_unique<JitSpecializer>(
      std::move(path), std::move(identity), std::move(specs),
      std::move(options), std::move(cache), std::move(log));
}

} // namespace bathy
