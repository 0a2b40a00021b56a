//===- GraphSpecializeShapes.cpp - Static input shapes for one run --------===//
//
// JIT users compile for the shapes of the request at hand (bathy-run
// --static-shapes); this pass is the step that pins the inputs down, by
// input name or by dim_param, so that bathy-opt and lit tests can run it
// too.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include <set>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"

#include <map>

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-graph-specialize-shapes"

namespace bathy {
#define GEN_PASS_DEF_GRAPHSPECIALIZESHAPESPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

namespace {

/// Splits "NAME=VALUE" at its last '='.
bool splitAssignment(StringRef text, StringRef &name, StringRef &value) {
  size_t eq = text.rfind('=');
  if (eq == StringRef::npos || eq == 0)
    return false;
  name = text.take_front(eq);
  value = text.drop_front(eq + 1);
  return true;
}

struct GraphSpecializeShapesPass
    : bathy::impl::GraphSpecializeShapesPassBase<GraphSpecializeShapesPass> {
  using GraphSpecializeShapesPassBase::GraphSpecializeShapesPassBase;

  LogicalResult initialize(MLIRContext *ctx) override {
    for (const std::string &entry : shapes) {
      StringRef name, value;
      if (!splitAssignment(entry, name, value))
        return emitError(UnknownLoc::get(ctx))
               << "shapes expects NAME=D0xD1x..., got '" << entry << "'";
      SmallVector<int64_t> shape;
      SmallVector<StringRef> parts;
      if (!value.empty())
        value.split(parts, 'x');
      for (StringRef part : parts) {
        int64_t d;
        if (part.getAsInteger(10, d) || d < 0)
          return emitError(UnknownLoc::get(ctx))
                 << "shapes: '" << entry << "' has a size that is not an "
                 << "integer >= 0";
        shape.push_back(d);
      }
      if (!byName.emplace(name.str(), shape).second)
        return emitError(UnknownLoc::get(ctx))
               << "shapes: input '" << name << "' is given twice";
    }
    for (const std::string &entry : dims) {
      StringRef name, value;
      int64_t d;
      if (!splitAssignment(entry, name, value) || value.getAsInteger(10, d) ||
          d < 0)
        return emitError(UnknownLoc::get(ctx))
               << "dims expects PARAM=VALUE with VALUE >= 0, got '" << entry
               << "'";
      if (!byParam.emplace(name.str(), d).second)
        return emitError(UnknownLoc::get(ctx))
               << "dims: '" << name << "' is given twice";
    }
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func->hasAttr(kKernelAttrName) || func.isExternal())
      return;
    SmallVector<Type> types;
    for (BlockArgument arg : func.getArguments()) {
      unsigned i = arg.getArgNumber();
      auto ranked = dyn_cast<RankedTensorType>(arg.getType());
      if (!ranked) {
        types.push_back(arg.getType());
        continue;
      }
      std::string name = "input" + std::to_string(i);
      if (auto n = func.getArgAttrOfType<StringAttr>(i, "bathy.name"))
        name = n.str();
      auto params = func.getArgAttrOfType<ArrayAttr>(i, "bathy.dim_params");
      SmallVector<int64_t> shape(ranked.getShape());
      auto given = byName.find(name);
      if (given != byName.end()) {
        const SmallVector<int64_t> &actual = given->second;
        if (actual.size() != shape.size()) {
          func.emitError() << "input '" << name << "' must have rank "
                           << shape.size() << ", got " << actual.size();
          return signalPassFailure();
        }
        for (size_t d = 0; d < shape.size(); ++d) {
          if (!ShapedType::isDynamic(shape[d]) && shape[d] != actual[d]) {
            func.emitError()
                << "input '" << name << "' dim " << d << " must be " << shape[d]
                << ", got " << actual[d];
            return signalPassFailure();
          }
          shape[d] = actual[d];
        }
        LLVM_DEBUG(llvm::dbgs()
                   << "input '" << name << "' takes its given shape\n");
      } else {
        for (size_t d = 0; d < shape.size(); ++d) {
          if (!ShapedType::isDynamic(shape[d]))
            continue;
          auto param = params && d < params.size()
                           ? dyn_cast<StringAttr>(params[d])
                           : StringAttr();
          auto it = param ? byParam.find(param.str()) : byParam.end();
          if (it != byParam.end())
            shape[d] = it->second;
          else if (defaultDim >= 0)
            shape[d] = defaultDim;
        }
      }
      auto type = RankedTensorType::get(shape, ranked.getElementType(),
                                        ranked.getEncoding());
      arg.setType(type);
      types.push_back(type);
    }
    // Every name given must be one the function has: a typo would
    // otherwise be ignored.
    std::set<std::string> inputs, params;
    for (BlockArgument arg : func.getArguments()) {
      unsigned i = arg.getArgNumber();
      auto n = func.getArgAttrOfType<StringAttr>(i, "bathy.name");
      inputs.insert(n ? n.str() : "input" + std::to_string(i));
      if (auto ps = func.getArgAttrOfType<ArrayAttr>(i, "bathy.dim_params"))
        for (auto p : ps.getAsRange<StringAttr>())
          if (!p.getValue().empty())
            params.insert(p.str());
    }
    auto list = [](const std::set<std::string> &names) {
      std::string out;
      for (const std::string &n : names)
        out += (out.empty() ? "" : ", ") + n;
      return out.empty() ? std::string("none") : out;
    };
    for (const auto &[name, shape] : byName)
      if (!inputs.count(name)) {
        func.emitError() << "shapes: no input is named '" << name
                         << "'; the inputs are: " << list(inputs);
        return signalPassFailure();
      }
    for (const auto &[name, value] : byParam)
      if (!params.count(name)) {
        func.emitError() << "dims: no input dim is named '" << name
                         << "'; the dim_params are: " << list(params);
        return signalPassFailure();
      }
    func.setType(
        FunctionType::get(&getContext(), types, func.getResultTypes()));
    // An input returned as is makes a result static too.
    syncResultTypesWithReturn(func);
  }

  std::map<std::string, SmallVector<int64_t>> byName;
  std::map<std::string, int64_t> byParam;
};

} // namespace
