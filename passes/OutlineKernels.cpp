//===- OutlineKernels.cpp - One kernel function per compute op ------------===//
//
// The kernel boundary: compute ops move into private kernel functions that
// the host launches. Fusion later changes which ops share a kernel; code
// generation works one kernel at a time.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

namespace bathy {
#define GEN_PASS_DEF_OUTLINEKERNELSPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

bool bathy::isHostShapeOp(Operation *op) {
  if (isa<ShapeOp, SizeOp>(op))
    return true;
  if (op->getNumResults() == 0)
    return false;
  return llvm::all_of(op->getResultTypes(), [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    return ranked && ranked.getRank() <= 1 && ranked.hasStaticShape() &&
           ranked.getNumElements() <= 16 &&
           ranked.getElementType().isInteger(64);
  });
}

namespace {

/// Appends the ONNX node names a location refers to (NameLocs whose child
/// names the op type, as the importer writes them; any NameLoc otherwise).
void collectNodeNames(Location loc, SmallVectorImpl<StringRef> &names) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    if (!llvm::is_contained(names, name.getName().strref()))
      names.push_back(name.getName().strref());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location part : fused.getLocations())
      collectNodeNames(part, names);
}

struct OutlineKernelsPass
    : bathy::impl::OutlineKernelsPassBase<OutlineKernelsPass> {
  using OutlineKernelsPassBase::OutlineKernelsPassBase;

  /// A constant small enough to copy into the kernel that uses it.
  bool isInlinableConstant(Value v) const {
    auto constant = v.getDefiningOp<ConstantOp>();
    if (!constant)
      return false;
    auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
    return dense && (dense.isSplat() ||
                     dense.getNumElements() <= maxInlineConstantElements);
  }

  /// One kernel for one op: the op is wrapped in a group of its own.
  void outline(Operation *op, func::FuncOp host, SymbolTable &symbols,
               unsigned index, StringRef kind = "") {
    OpBuilder builder(op);
    auto group =
        FusionGroupOp::create(builder, op->getLoc(), op->getResultTypes(),
                              builder.getStringAttr(kind), ArrayAttr());
    Block *body = builder.createBlock(&group.getBody());
    op->replaceAllUsesWith(group.getResults());
    op->moveBefore(body, body->end());
    builder.setInsertionPointToEnd(body);
    YieldOp::create(builder, op->getLoc(), op->getResults());
    outlineGroup(group, host, symbols, index);
  }

  /// One kernel for a whole fusion group: values from above become
  /// arguments (small constants are copied in), the yield becomes the return.
  void outlineGroup(FusionGroupOp group, func::FuncOp host,
                    SymbolTable &symbols, unsigned index) {
    MLIRContext *ctx = group->getContext();
    Block &body = group.getBody().front();
    llvm::SetVector<Value> args, copied;
    SmallVector<StringRef> opNames;
    // Named after the ops that compute; re-indexing that a kernel absorbed
    // (head splits around a GEMM or attention) only names a kernel that
    // does nothing else.
    auto reindexes = [](Operation &op) {
      return isa<TransposeOp, ReshapeOp, DynamicReshapeOp, SqueezeOp,
                 UnsqueezeOp>(op);
    };
    bool computes = llvm::any_of(body.without_terminator(),
                                 [&](Operation &op) { return !reindexes(op); });
    for (Operation &op : body.without_terminator()) {
      if (opNames.size() < 3 && !(computes && reindexes(op)))
        opNames.push_back(op.getName().stripDialect());
      for (Value operand : op.getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (def && def->getParentOp() == group)
          continue;
        if (isInlinableConstant(operand))
          copied.insert(operand);
        else
          args.insert(operand);
      }
    }
    OpBuilder builder(ctx);
    builder.setInsertionPointToEnd(host->getParentOfType<ModuleOp>().getBody());
    std::string name = (llvm::join(opNames, "_") + "_" + Twine(index)).str();
    auto type = FunctionType::get(ctx, TypeRange(args.getArrayRef()),
                                  group.getResultTypes());
    auto kernel = func::FuncOp::create(builder, group.getLoc(), name, type);
    kernel.setPrivate();
    kernel->setAttr(kKernelAttrName, UnitAttr::get(ctx));
    SmallVector<StringRef> nodes;
    for (Operation &op : body.without_terminator())
      collectNodeNames(op.getLoc(), nodes);
    kernel->setAttr(kKernelNodesAttrName, builder.getStrArrayAttr(nodes));
    if (!group.getKind().empty())
      kernel->setAttr(kKernelKindAttrName, group.getKindAttr());
    if (auto rejected = group.getRejectedAttr())
      kernel->setAttr(kKernelRejectedAttrName, rejected);
    symbols.insert(kernel);

    Block *entry = kernel.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    IRMapping mapping;
    for (auto [arg, value] : llvm::zip(entry->getArguments(), args))
      mapping.map(value, arg);
    for (Value v : copied)
      mapping.map(v, builder.clone(*v.getDefiningOp())->getResult(0));
    for (Operation &op : body.without_terminator())
      builder.clone(op, mapping);
    auto yield = cast<YieldOp>(body.getTerminator());
    SmallVector<Value> results;
    for (Value v : yield.getValues())
      results.push_back(mapping.lookupOrDefault(v));
    func::ReturnOp::create(builder, group.getLoc(), results);

    builder.setInsertionPoint(group);
    auto launch =
        LaunchOp::create(builder, group.getLoc(), group.getResultTypes(),
                         kernel.getSymName(), args.getArrayRef());
    group->replaceAllUsesWith(launch.getResults());
    group->erase();
    ++numKernels;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> hosts;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func->hasAttr(kKernelAttrName) && !func.isExternal())
        hosts.push_back(func);
    unsigned index = 0;
    for (func::FuncOp host : hosts) {
      SmallVector<Operation *> work, shapeWork;
      SmallVector<FusionGroupOp> groups;
      host.walk([&](Operation *op) {
        if (auto group = dyn_cast<FusionGroupOp>(op)) {
          groups.push_back(group);
          return;
        }
        if (isa<FusionGroupOp>(op->getParentOp()))
          return;
        if (!isa<BathyDialect>(op->getDialect()) ||
            isa<ConstantOp, LaunchOp>(op))
          return;
        if (isHostShapeOp(op)) {
          if (shapeOpsInHost)
            ++numHostOps;
          else
            shapeWork.push_back(op);
          return;
        }
        work.push_back(op);
      });
      for (Operation *op : work)
        outline(op, host, symbols, index++);
      for (Operation *op : shapeWork)
        outline(op, host, symbols, index++, "shape");
      for (FusionGroupOp group : groups)
        outlineGroup(group, host, symbols, index++);
      // Constants copied into every user are dead in the host.
      for (Block &block : host.getBody())
        for (Operation &op :
             llvm::make_early_inc_range(llvm::reverse(block.getOperations())))
          if (isa<ConstantOp>(op) && op.use_empty())
            op.erase();
    }
  }
};

} // namespace
