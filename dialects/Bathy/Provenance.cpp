//===- Provenance.cpp - The ONNX nodes a location names -------------------===//
#include "bathy/Dialect/Bathy/Provenance.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace bathy {

std::string describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string out = "node '" + name.getName().str() + "'";
    if (auto type = dyn_cast<NameLoc>(name.getChildLoc()))
      out += " (" + type.getName().str() + ")";
    return out;
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    std::string out = file.getFilename().str();
    if (file.getLine() != 0)
      out += ":" + std::to_string(file.getLine()) + ":" +
             std::to_string(file.getColumn());
    return out;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string out;
    for (Location part : fused.getLocations()) {
      std::string d = describeLocation(part);
      if (d.empty())
        continue;
      out += out.empty() ? d : ", " + d;
    }
    return out;
  }
  if (auto callsite = dyn_cast<CallSiteLoc>(loc))
    return describeLocation(callsite.getCallee());
  return "";
}

} // namespace bathy
