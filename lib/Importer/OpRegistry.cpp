//===- OpRegistry.cpp - Versioned table of ONNX op handlers ---------------===//
#include "OpRegistry.h"

#include "ModelLoader.h"

namespace bathy::onnx_import {

void OpRegistry::add(llvm::StringRef domain, llvm::StringRef opType,
                     int64_t sinceVersion, OpHandler handler) {
  auto &entries = table_[{canonicalDomain(domain), opType.str()}];
  entries.push_back({sinceVersion, handler});
  std::sort(entries.begin(), entries.end(),
            [](const OpHandlerEntry &a, const OpHandlerEntry &b) {
              return a.sinceVersion < b.sinceVersion;
            });
}

const OpHandlerEntry *OpRegistry::lookup(llvm::StringRef domain,
                                         llvm::StringRef opType,
                                         int64_t opset) const {
  auto it = table_.find({canonicalDomain(domain), opType.str()});
  if (it == table_.end())
    return nullptr;
  const OpHandlerEntry *best = nullptr;
  for (const OpHandlerEntry &e : it->second)
    if (e.sinceVersion <= opset)
      best = &e;
  return best;
}

int64_t OpRegistry::lowestVersion(llvm::StringRef domain,
                                  llvm::StringRef opType) const {
  auto it = table_.find({canonicalDomain(domain), opType.str()});
  return it == table_.end() ? 0 : it->second.front().sinceVersion;
}

const OpRegistry &OpRegistry::get() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    populateElementwiseHandlers(r);
    populateContractionHandlers(r);
    populatePoolingHandlers(r);
    populateReductionHandlers(r);
    populateDataMovementHandlers(r);
    populateAttentionHandlers(r);
    return r;
  }();
  return registry;
}

} // namespace bathy::onnx_import
