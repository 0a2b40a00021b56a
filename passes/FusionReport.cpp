//===- FusionReport.cpp - What fusion did, for people and tools -----------===//
#include "bathy/Passes/FusionReport.h"

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/JSON.h"

using namespace mlir;

namespace bathy {

namespace {
struct KernelInfo {
  std::string name, kind;
  std::vector<std::string> nodes, notFused, ops;
};

std::vector<std::string> strings(ArrayAttr attr) {
  std::vector<std::string> out;
  if (attr)
    for (Attribute a : attr)
      if (auto s = dyn_cast<StringAttr>(a))
        out.push_back(s.str());
  return out;
}
} // namespace

void printFusionReport(ModuleOp module, llvm::raw_ostream &os, bool json) {
  std::vector<KernelInfo> kernels;
  size_t totalOps = 0;
  for (auto host : module.getOps<func::FuncOp>()) {
    if (host->hasAttr(kKernelAttrName) || host.isExternal())
      continue;
    host.walk([&](LaunchOp launch) {
      auto kernel = module.lookupSymbol<func::FuncOp>(launch.getKernel());
      if (!kernel)
        return;
      KernelInfo info;
      info.name = kernel.getSymName().str();
      if (auto kind = kernel->getAttrOfType<StringAttr>(kKernelKindAttrName))
        info.kind = kind.str();
      info.nodes =
          strings(kernel->getAttrOfType<ArrayAttr>(kKernelNodesAttrName));
      info.notFused =
          strings(kernel->getAttrOfType<ArrayAttr>(kKernelRejectedAttrName));
      kernel.walk([&](Operation *op) {
        if (isa<BathyDialect>(op->getDialect()) && !isa<ConstantOp>(op))
          info.ops.push_back(op->getName().stripDialect().str());
      });
      if (info.kind.empty())
        info.kind = info.ops.size() == 1 ? info.ops.front() : "unfused";
      totalOps += info.ops.size();
      kernels.push_back(std::move(info));
    });
  }
  if (json) {
    llvm::json::Array list;
    for (const KernelInfo &k : kernels)
      list.push_back(llvm::json::Object{
          {"name", k.name},
          {"kind", k.kind},
          {"ops", llvm::json::Array(k.ops)},
          {"nodes", llvm::json::Array(k.nodes)},
          {"not_fused", llvm::json::Array(k.notFused)},
      });
    llvm::json::Object report{{"kernels", std::move(list)},
                              {"num_kernels", int64_t(kernels.size())},
                              {"num_ops", int64_t(totalOps)}};
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
    return;
  }
  for (const KernelInfo &k : kernels) {
    os << "kernel " << k.name << " [" << k.kind << "]: ";
    llvm::interleave(k.ops, os, " -> ");
    os << "\n  nodes: ";
    llvm::interleaveComma(k.nodes, os);
    os << "\n";
    for (const std::string &r : k.notFused)
      os << "  not fused with " << r << "\n";
  }
  os << "kernels: " << kernels.size() << " (ops: " << totalOps << ")\n";
}

} // namespace bathy
