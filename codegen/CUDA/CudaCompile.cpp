//===- CudaCompile.cpp - A model as an execution plan and CUDA C++ --------===//
#include "bathy/Codegen/CPU/ExecutionPlan.h"
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Codegen/CPU/SharedObject.h"
#include "bathy/Codegen/CUDA/Cuda.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "bathy/Passes/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Regex.h"
#include <map>
#include <thread>
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace bathy {

static llvm::cl::opt<bool>
    printCudaIR("bathy-cuda-print-ir", llvm::cl::Hidden,
                llvm::cl::desc("Print the kernels as the CUDA emitter gets "
                               "them (for bathy developers)"));

FailureOr<CudaCompiledModel> compileForCuda(ModuleOp module,
                                            const CudaCompileOptions &opts) {
  if (!module.lookupSymbol<func::FuncOp>("main"))
    return module.emitError("the module has no @main to run");
  MLIRContext *ctx = module.getContext();
  auto progress = [&](StringRef what) {
    if (opts.progress)
      opts.progress(what);
  };
  PipelineOptions options = cudaPipelineOptions(opts.pipeline);
  progress("graph passes and fusion");
  FailureOr<rt::Plan> plan =
      outlineKernelsAndPlan(module, options, opts.releaseWeightBlobs);
  if (failed(plan))
    return failure();
  progress(("lowering " + Twine(plan->kernels.size()) + " kernels").str());
  PassManager pm(ctx);
  buildCudaCodegenPipeline(pm, options);
  if (failed(pm.run(module)))
    return failure();
  for (const rt::Plan::Step &step : plan->steps) {
    const std::string &name = plan->kernels[step.kernel];
    auto kernel = module.lookupSymbol<func::FuncOp>(name);
    if (!kernel ||
        kernel->hasAttr(kKernelDestinationsAttrName) != step.destinations)
      return module.emitError("kernel '")
             << name << "' was not compiled for its launch in the plan";
  }
  if (printCudaIR)
    module.print(llvm::errs());
  progress("writing CUDA C++");
  CudaCompiledModel out;
  llvm::raw_string_ostream os(out.source);
  if (failed(translateToCuda(module, os)))
    return failure();
  out.plan = std::move(*plan);
  return out;
}

/// NVRTC's messages with the kernel each is in and that kernel's ONNX
/// nodes: "kernels.cu(LINE): error: ..." lines are mapped to the
/// __global__ function or host entry whose text holds LINE.
static std::string explainNvrtcLog(const CudaCompiledModel &model,
                                   llvm::StringRef log) {
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(model.source).split(lines, '\n');
  // Kernel function of each source line (empty outside one).
  std::vector<std::string> kernelAt(lines.size() + 1);
  std::string current;
  llvm::Regex global("__global__ void ([A-Za-z0-9_]+)_g[0-9]+\\(");
  llvm::Regex entry("void _mlir__mlir_ciface_([A-Za-z0-9_]+)\\(");
  for (size_t i = 0; i < lines.size(); ++i) {
    llvm::SmallVector<llvm::StringRef, 2> m;
    if (global.match(lines[i], &m) || entry.match(lines[i], &m))
      current = m[1].str();
    kernelAt[i + 1] = current;
  }
  std::map<std::string, std::string> nodes;
  for (const rt::Plan::Step &step : model.plan.steps)
    if (!step.nodes.empty())
      nodes[model.plan.kernels[step.kernel]] = step.nodes;
  std::string out;
  llvm::Regex where("\\(([0-9]+)\\): (error|warning)");
  llvm::SmallVector<llvm::StringRef> logLines;
  log.split(logLines, '\n');
  for (llvm::StringRef line : logLines) {
    llvm::SmallVector<llvm::StringRef, 3> m;
    out += line.str();
    size_t n = 0;
    if (where.match(line, &m) && !m[1].getAsInteger(10, n) &&
        n < kernelAt.size() && !kernelAt[n].empty()) {
      out += " [kernel '" + kernelAt[n] + "'";
      if (auto it = nodes.find(kernelAt[n]); it != nodes.end())
        out += ", nodes " + it->second;
      out += "]";
    }
    out += "\n";
  }
  return out;
}

llvm::Expected<CudaBinaries>
compileCudaBinaries(const CudaCompiledModel &model,
                    llvm::ArrayRef<std::string> archs, llvm::StringRef name) {
  // PTX for compute_N comes from the sm_N compile when both are asked for.
  std::vector<std::string> compiled;
  std::vector<std::string> fromCubin;
  for (const std::string &a : archs) {
    llvm::StringRef ref(a);
    if (ref.starts_with("compute_") &&
        llvm::is_contained(archs, "sm_" + ref.drop_front(8).str()))
      fromCubin.push_back(a);
    else
      compiled.push_back(a);
  }
  std::vector<llvm::Expected<std::vector<NvrtcResult>>> results;
  for (size_t i = 0; i < compiled.size(); ++i)
    results.emplace_back(std::vector<NvrtcResult>{});
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < compiled.size(); ++i)
      threads.emplace_back([&, i] {
        results[i] = compileWithNvrtc(model.source, compiled[i], name);
      });
    for (std::thread &t : threads)
      t.join();
  }
  CudaBinaries out;
  std::string errors;
  for (auto &r : results) {
    if (!r) {
      errors += explainNvrtcLog(model, llvm::toString(r.takeError()));
      continue;
    }
    for (NvrtcResult &b : *r) {
      if (llvm::StringRef(b.arch).starts_with("sm_"))
        out.resources.push_back({b.arch, parsePtxasLog(b.log)});
      out.binaries.push_back(std::move(b));
    }
  }
  if (!errors.empty())
    return llvm::createStringError(errors);
  for (const std::string &a : fromCubin) {
    std::string sm = "sm_" + a.substr(8);
    for (size_t i = 0, e = out.binaries.size(); i < e; ++i)
      if (out.binaries[i].arch == sm && !out.binaries[i].ptx.empty()) {
        NvrtcResult ptx;
        ptx.arch = a;
        ptx.binary = out.binaries[i].ptx;
        out.binaries.push_back(std::move(ptx));
        break;
      }
  }
  return out;
}

} // namespace bathy
