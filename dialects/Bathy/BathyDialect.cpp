//===- BathyDialect.cpp - The bathy dialect and its op definitions --------===//
//
// Holds the tablegen-generated op definitions (kept in this one translation
// unit) and the dialect hooks. Type inference lives in Infer*.cpp, folders
// and canonicalizations in Folds.cpp.
//
//===----------------------------------------------------------------------===//
#include "bathy/Dialect/Bathy/BathyOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace bathy;

#include "bathy/Dialect/Bathy/BathyOpsDialect.cpp.inc"

void BathyDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "bathy/Dialect/Bathy/BathyOps.cpp.inc"
      >();
}

Operation *BathyDialect::materializeConstant(OpBuilder &builder,
                                             Attribute value, Type type,
                                             Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}

#define GET_OP_CLASSES
#include "bathy/Dialect/Bathy/BathyOps.cpp.inc"

//===----------------------------------------------------------------------===//
// CheckOp
//===----------------------------------------------------------------------===//

LogicalResult CheckOp::verify() {
  if (getValues().size() > 3)
    return emitOpError("formats at most 3 values, got ") << getValues().size();
  for (Type t : getValues().getTypes())
    if (auto it = dyn_cast<IntegerType>(t); it && it.getWidth() > 64)
      return emitOpError("values wider than 64 bits cannot be printed");
  return success();
}

//===----------------------------------------------------------------------===//
// FusionGroupOp
//===----------------------------------------------------------------------===//

LogicalResult FusionGroupOp::verify() {
  Block &body = getBody().front();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end in bathy.yield");
  if (TypeRange(yield.getValues().getTypes()) != getResultTypes())
    return emitOpError("yields ")
           << yield.getValues().getTypes() << " but its results are "
           << getResultTypes();
  if (body.getNumArguments() != 0)
    return emitOpError("body takes no arguments (it reads values above it)");
  return success();
}

//===----------------------------------------------------------------------===//
// LaunchOp
//===----------------------------------------------------------------------===//

LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto kernel =
      symbolTable.lookupNearestSymbolFrom<func::FuncOp>(*this, getKernelAttr());
  if (!kernel)
    return emitOpError("kernel '")
           << getKernel() << "' is not a function in this module";
  if (!kernel->hasAttr(kKernelAttrName))
    return emitOpError("'")
           << getKernel() << "' is not marked " << kKernelAttrName;
  FunctionType type = kernel.getFunctionType();
  if (TypeRange(type.getInputs()) != TypeRange(getArgs().getTypes()) ||
      TypeRange(type.getResults()) != TypeRange(getResultTypes()))
    return emitOpError("types ")
           << FunctionType::get(getContext(), getArgs().getTypes(),
                                getResultTypes())
           << " do not match kernel '" << getKernel() << "' of type " << type;
  return success();
}
