//===- OpRegistry.h - Versioned table of ONNX op handlers -----------------===//
//
// Handlers are keyed by (domain, op_type, since_version). A model at opset N
// uses the handler with the highest since_version <= N; one file per op
// family registers its handlers through populate<Family>Handlers.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_IMPORTER_OPREGISTRY_H
#define BATHY_IMPORTER_OPREGISTRY_H

#include <map>
#include <string>
#include <vector>

#include "NodeContext.h"

namespace bathy::onnx_import {

using OpHandler = mlir::LogicalResult (*)(NodeContext &);

struct OpHandlerEntry {
  int64_t sinceVersion;
  OpHandler handler;
};

class OpRegistry {
public:
  /// Registers `handler` for `opType` in `domain` from `sinceVersion` on.
  void add(llvm::StringRef domain, llvm::StringRef opType, int64_t sinceVersion,
           OpHandler handler);
  /// Shorthand for the default domain.
  void add(llvm::StringRef opType, int64_t sinceVersion, OpHandler handler) {
    add("", opType, sinceVersion, handler);
  }

  /// The handler for `opType` at `opset`, or null.
  const OpHandlerEntry *lookup(llvm::StringRef domain, llvm::StringRef opType,
                               int64_t opset) const;
  /// The lowest opset at which any handler for `opType` applies (0 if none).
  int64_t lowestVersion(llvm::StringRef domain, llvm::StringRef opType) const;
  size_t size() const { return table_.size(); }
  /// Every (domain, op type) with its handlers, sorted by since_version.
  const std::map<std::pair<std::string, std::string>,
                 std::vector<OpHandlerEntry>> &
  entries() const {
    return table_;
  }

  /// The registry with every family's handlers.
  static const OpRegistry &get();

private:
  std::map<std::pair<std::string, std::string>, std::vector<OpHandlerEntry>>
      table_;
};

void populateElementwiseHandlers(OpRegistry &registry);
void populateContractionHandlers(OpRegistry &registry);
void populatePoolingHandlers(OpRegistry &registry);
void populateReductionHandlers(OpRegistry &registry);
void populateDataMovementHandlers(OpRegistry &registry);
void populateAttentionHandlers(OpRegistry &registry);

} // namespace bathy::onnx_import

#endif // BATHY_IMPORTER_OPREGISTRY_H
